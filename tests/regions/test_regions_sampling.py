"""CocoRegions sampling plans: positives, negatives, random, balanced, preselect, hooks."""
import kwcoco
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from regions_data import make_dataset

from ndsampler.errors import IndexOutOfRangeError, InvalidOptionError, TargetError, UnknownIdError, WindowError
from ndsampler.geometry import window_from_center
from ndsampler.regions import CocoRegions, union_coverage, visible_fraction


def _window_ltrb(tr):
    sl_y, sl_x = window_from_center(tr['cx'], tr['cy'], tr['window_dims'][1], tr['window_dims'][0])
    return [sl_x.start, sl_y.start, sl_x.stop, sl_y.stop]


def _fractions(regions, tr):
    dset = regions.dset
    aids = list(dset.index.gid_to_aids[tr['gid']])
    boxes = np.array([dset.anns[a]['bbox'] for a in aids], float).reshape(-1, 4)
    boxes[:, 2:] += boxes[:, :2]
    return visible_fraction(boxes, _window_ltrb(tr))


def test_positives_are_centred_on_their_box(small_dset):
    regions = CocoRegions(small_dset)
    assert regions.n_positives == small_dset.n_annots
    for index in range(regions.n_positives):
        tr = regions.get_positive(index)
        ann = small_dset.anns[tr['aid']]
        x, y, w, h = ann['bbox']
        assert tr['gid'] == ann['image_id'] and tr['category_id'] == ann['category_id']
        assert tr['label'] == regions.classes.id_to_idx[ann['category_id']]
        assert np.allclose([tr['cx'], tr['cy'], tr['width'], tr['height']], [x + w / 2, y + h / 2, w, h])
        assert tr['window_dims'] == (int(np.ceil(h)), int(np.ceil(w)))
        x0, y0, x1, y1 = _window_ltrb(tr)
        # low = floor(c - d / 2): the window centre is within one pixel below the box centre
        assert -1 < (x0 + x1) / 2 - (x + w / 2) <= 1e-9 and -1 < (y0 + y1) / 2 - (y + h / 2) <= 1e-9
        assert np.allclose([tr['rel_cx'], tr['rel_cy']], [x + w / 2 - x0, y + h / 2 - y0])
    square = regions.get_positive(0, window_dims='square')
    assert square['window_dims'][0] == square['window_dims'][1]
    assert regions.get_positive(0, window_dims=(32, 16))['window_dims'] == (32, 16)
    with pytest.raises(InvalidOptionError):
        regions.get_positive(0, window_dims='huge')
    with pytest.raises(IndexError):
        regions.get_positive(regions.n_positives)


def test_positive_jitter_keeps_box_centre_inside(small_dset):
    regions = CocoRegions(small_dset, window_dims=(20, 30), jitter=0.4)
    rng = np.random.default_rng(0)
    moved = 0
    for _ in range(100):
        tr = regions.get_positive(rng=rng)
        assert 0 <= tr['rel_cx'] < 30 and 0 <= tr['rel_cy'] < 20
        ann = small_dset.anns[tr['aid']]
        x, y, w, h = ann['bbox']
        assert abs(tr['cx'] - (x + w / 2)) <= 0.4 * 30 + 1e-9
        moved += not np.isclose(tr['cx'], x + w / 2)
    assert moved > 90
    with pytest.raises(InvalidOptionError):
        CocoRegions(small_dset, jitter=0.6)


@pytest.mark.parametrize('neg_thresh', [0.0, 0.3])
def test_negatives_respect_the_overlap_threshold(small_dset, neg_thresh):
    regions = CocoRegions(small_dset, neg_thresh=neg_thresh)
    n_pos, n_neg = regions.preselect(n_neg=60, window_dims=(24, 24), rng=0)
    assert (n_pos, n_neg) == (regions.n_positives, 60)
    for index in range(n_neg):
        tr = regions.get_negative(index)
        assert tr['aid'] == -1 and tr['window_dims'] == (24, 24)
        assert _fractions(regions, tr).max(initial=0) <= neg_thresh
        assert regions.overlapping_aids(tr['gid'], _window_ltrb(tr), visible_thresh=neg_thresh) == []
    fresh = regions.get_negative(rng=1)
    assert _fractions(regions, fresh).max(initial=0) <= neg_thresh


def test_preselect_is_reproducible_and_get_item_is_zero_based(small_dset):
    a = CocoRegions(small_dset)
    b = CocoRegions(small_dset)
    assert a.preselect(n_pos=10, neg_to_pos_ratio=0.5, window_dims=(16, 16), rng=3) == (10, 5)
    b.preselect(n_pos=10, neg_to_pos_ratio=0.5, window_dims=(16, 16), rng=3)
    items_a = [a.get_item(i) for i in range(a.n_samples)]
    assert items_a == [b.get_item(i) for i in range(b.n_samples)]
    assert a.n_samples == 15 and len({t['aid'] for t in items_a[:10]}) == 10
    assert all(t['aid'] == -1 for t in items_a[10:]) and all(t['aid'] != -1 for t in items_a[:10])
    assert a.get_item(0) == a.get_positive(0) and a.get_item(10) == a.get_negative(0)
    with pytest.raises(IndexError):
        a.get_item(15)
    c = CocoRegions(small_dset)
    assert c.preselect(n_pos=100, rng=0)[0] == 100  # oversampled: each positive 2 or 3 times
    counts = np.bincount(c.pool.pos_idxs)
    assert counts.min() >= 2 and counts.max() <= 3
    with pytest.raises(InvalidOptionError):
        c.preselect(n_neg=1, neg_to_pos_ratio=1)
    # ndsampler 0.8 also refuses an index into a pool that was never drawn (MissingNegativePool)
    with pytest.raises(TargetError, match=r'preselect\(n_neg=\.\.\.\)'):
        CocoRegions(small_dset).get_negative(0)


def test_new_pool_leaves_the_regions_as_they_are(small_dset):
    regions = CocoRegions(small_dset, neg_window_dims=(10, 12))
    before = regions.pool
    pool = regions.new_pool(n_pos=0, n_neg=4, window_dims=(16, 16), rng=3)
    assert (pool.n_positives, pool.n_negatives) == (0, 4)
    assert all(pool.get_negative(i)['window_dims'] == (16, 16) for i in range(4))
    assert regions.pool is before and regions.neg_window_dims == (10, 12)
    assert regions.n_positives == small_dset.n_annots and regions.n_negatives == 0
    assert regions.get_positive(0) == before.get_positive(0) == pool.regions.get_positive(0)
    with pytest.raises(TargetError):
        regions.get_negative(0)
    # preselect (ndsampler 0.8) installs the same pool the same seed draws, and keeps window_dims as the default
    twin = CocoRegions(small_dset, neg_window_dims=(10, 12))
    assert twin.preselect(n_pos=0, n_neg=4, window_dims=(16, 16), rng=3) == (0, 4)
    assert [twin.get_item(i) for i in range(4)] == [pool.get_item(i) for i in range(4)]
    assert twin.neg_window_dims == (16, 16) and twin.n_positives == 0 and twin.pool is not before
    assert before.n_positives == small_dset.n_annots  # a pool someone kept is unchanged


def test_random_windows_uniform_over_pixels():
    dset = make_dataset([(300, 100), (100, 100)], boxes_per_image=0)
    regions = CocoRegions(dset, neg_window_dims=(10, 10))
    rng = np.random.default_rng(0)
    trs = [regions.get_random(rng=rng) for _ in range(2000)]
    share = np.mean([tr['gid'] == 1 for tr in trs])
    assert abs(share - 0.75) < 0.05  # area 3:1
    xs = np.array([tr['cx'] for tr in trs if tr['gid'] == 1])
    assert abs(np.mean(xs < 150) - 0.5) < 0.06
    for tr in trs[:50]:
        x0, y0, x1, y1 = _window_ltrb(tr)
        assert (x1 - x0, y1 - y0) == (10, 10)
    same = [CocoRegions(dset, neg_window_dims=(10, 10)).get_random(rng=5) for _ in range(2)]
    assert same[0] == same[1]


def test_balanced_sampling_proportions():
    dset = kwcoco.CocoDataset()
    common, rare = dset.add_category('common'), dset.add_category('rare')
    gid = dset.add_image(name='a', width=2000, height=2000)
    for k in range(90):
        dset.add_annotation(image_id=gid, category_id=common, bbox=[10 * k, 10, 5, 5])
    for k in range(10):
        dset.add_annotation(image_id=gid, category_id=rare, bbox=[10 * k, 30, 5, 5])
    regions = CocoRegions(dset, neg_window_dims=(20, 20))
    trs = regions.sample_balanced(2000, neg_to_pos_ratio=1.0, rng=0)
    negs = [t for t in trs if t['aid'] == -1]
    pos = [t for t in trs if t['aid'] != -1]
    assert abs(len(negs) / 2000 - 0.5) < 0.05
    assert abs(np.mean([t['category_id'] == rare for t in pos]) - 0.5) < 0.06
    plain = regions.sample_balanced(1000, neg_to_pos_ratio=0.0, class_balanced=False, rng=0)
    assert all(t['aid'] != -1 for t in plain)
    assert abs(np.mean([t['category_id'] == rare for t in plain]) - 0.1) < 0.04
    assert trs == regions.sample_balanced(2000, neg_to_pos_ratio=1.0, rng=0)


def test_ignore_and_nodata_windows_are_skipped():
    dset = kwcoco.CocoDataset()
    ign = dset.add_category('ignore')
    cat = dset.add_category('cat')
    gid = dset.add_image(name='a', width=100, height=100)
    dset.add_annotation(image_id=gid, category_id=ign, bbox=[0, 0, 50, 100])
    dset.add_annotation(image_id=gid, category_id=cat, bbox=[90, 90, 5, 5])
    regions = CocoRegions(dset, neg_window_dims=(10, 10), ignore_thresh=0.5)
    assert regions.n_positives == 1  # the ignore box is not a positive
    for tr in [regions.get_random(rng=k) for k in range(100)]:
        x0, _, x1, _ = _window_ltrb(tr)
        assert max(0, min(x1, 50) - max(x0, 0)) / 10 <= 0.5  # at most half of the window ignored
    regions.nodata_check = lambda tr: tr['cy'] < 50
    assert all(regions.get_random(rng=k)['cy'] >= 50 for k in range(30))
    regions.nodata_check = lambda tr: True
    with pytest.raises(WindowError):
        regions.get_random(rng=0)


def _crowded_regions_with_ignore_boxes():
    dset = make_dataset([(120, 90), (64, 64), (200, 50)], boxes_per_image=25, seed=3,
                        categories=('cat', 'ignore', 'dog'), max_side=60)
    return CocoRegions(dset, ignore_thresh=0.3)


_CROWDED = _crowded_regions_with_ignore_boxes()


@settings(max_examples=60, deadline=None)
@given(windows=st.lists(st.tuples(st.integers(0, 2), st.integers(-40, 200), st.integers(-40, 100),
                                  st.integers(1, 80), st.integers(1, 80)), min_size=1, max_size=20),
       neg_thresh=st.sampled_from([None, 0.0, 0.4]))
def test_batched_box_tests_match_brute_force(windows, neg_thresh):
    """The batched positive / ignore tests that random and negative draws use, against every box of the image."""
    regions, table = _CROWDED, _CROWDED.table
    slots = np.array([w[0] for w in windows])
    ltrb = np.array([[x, y, x + w, y + h] for _, x, y, w, h in windows], dtype=float)
    expected = []
    for slot, window in zip(slots, ltrb):
        rows = np.flatnonzero(table['gid'] == table['image_ids'][slot])
        frac = visible_fraction(table['ltrb'][rows], window)
        positive = neg_thresh is not None and bool((table['is_positive'][rows] & (frac > neg_thresh)).any())
        ignored = rows[table['is_ignore'][rows] & (frac > 0)]
        expected.append(positive or union_coverage(table['ltrb'][ignored], window) > regions.ignore_thresh)
    assert regions._windows_covered(slots, ltrb, neg_thresh).tolist() == expected
    gids = table['image_ids'][slots]
    assert [regions.window_is_skipped(int(g), w, neg_thresh) for g, w in zip(gids, ltrb)] == expected


def test_random_positive_draws_index_and_jitter_from_one_generator(small_dset):
    """A seed gives one generator: the jitter continues its stream (was a second generator of the same seed)."""
    regions = CocoRegions(small_dset)
    for seed in range(5):
        got = regions.get_positive(rng=seed, jitter=0.4)
        rng = np.random.default_rng(seed)
        expected = regions.get_positive(int(rng.integers(regions.n_positives)), rng=rng, jitter=0.4)
        assert got == expected


def test_rng_forms_and_errors(small_dset):
    regions = CocoRegions(small_dset)
    assert regions.get_positive(rng=4) == regions.get_positive(rng=np.random.default_rng(4))
    assert regions.get_positive(rng=np.random.RandomState(1)) == regions.get_positive(rng=np.random.RandomState(1))
    with pytest.raises(InvalidOptionError):
        CocoRegions(make_dataset([(10, 10)])).get_random()  # no boxes to size windows by
    dset = kwcoco.CocoDataset()
    dset.add_image(name='nosize')
    with pytest.raises(TargetError):
        CocoRegions(dset).overlapping_aids(1, [0, 0, 1, 1])
    assert regions.lookup_class_name(regions.lookup_class_id('dog')) == 'dog'


def _two_class_regions(**kwargs):
    dset = kwcoco.CocoDataset()
    common, rare = dset.add_category('common'), dset.add_category('rare')
    dset.add_category('unused')
    gid = dset.add_image(name='a', width=2000, height=2000)
    for k in range(90):
        dset.add_annotation(image_id=gid, category_id=common, bbox=[10 * k, 10, 5, 5])
    for k in range(10):
        dset.add_annotation(image_id=gid, category_id=rare, bbox=[10 * k, 30, 5, 5])
    return CocoRegions(dset, **kwargs), rare


def test_class_probs_weights_and_errors():
    regions, rare = _two_class_regions()
    assert regions.class_probs().tolist() == [0.5, 0.5, 0.0]
    assert np.allclose(regions.class_probs('frequency'), [0.9, 0.1, 0.0])
    assert np.allclose(regions.class_probs({'common': 3, 'unused': 5}), [0.75, 0.25, 0.0])
    assert np.allclose(regions.class_probs({rare: 0}), [1.0, 0.0, 0.0])
    with pytest.raises(InvalidOptionError):
        regions.class_probs('inverse')
    with pytest.raises(InvalidOptionError):
        regions.class_probs({'common': 0, 'rare': 0})
    with pytest.raises(InvalidOptionError):
        regions.class_probs({'rare': -1})
    with pytest.raises(UnknownIdError):
        regions.class_probs({'nope': 1})
    empty = CocoRegions(make_dataset([(10, 10)]))
    assert empty.class_probs().tolist() == [0.0, 0.0]


def test_get_balanced_one_draw_per_generator():
    regions, rare = _two_class_regions(neg_window_dims=(20, 20))
    probs = regions.class_probs({'common': 1, 'rare': 3})
    trs = [regions.get_balanced(np.random.default_rng([7, k]), neg_to_pos_ratio=0.5, class_probs=probs,
                                window_dims=(16, 24), jitter=0.25) for k in range(3000)]
    negs = [t for t in trs if t['aid'] == -1]
    pos = [t for t in trs if t['aid'] != -1]
    assert abs(len(negs) / len(trs) - 1 / 3) < 0.04
    assert abs(np.mean([t['category_id'] == rare for t in pos]) - 0.75) < 0.04
    assert {t['window_dims'] for t in pos} == {(16, 24)} and {t['window_dims'] for t in negs} == {(20, 20)}
    assert all(abs(t['rel_cx'] - 12) <= 6 + 1 for t in pos)  # jitter moves the window by up to a quarter
    again = regions.get_balanced(np.random.default_rng([7, 5]), neg_to_pos_ratio=0.5, class_probs=probs,
                                 window_dims=(16, 24), jitter=0.25)
    assert again == trs[5]
    assert regions.get_balanced(0, neg_to_pos_ratio=0)['aid'] != -1
    with pytest.raises(InvalidOptionError):
        regions.get_balanced(0, neg_to_pos_ratio=-1)
    with pytest.raises(InvalidOptionError):
        regions.get_balanced(0, jitter=0.9)
    with pytest.raises(WindowError):
        CocoRegions(make_dataset([(40, 40)])).get_balanced(0, neg_to_pos_ratio=0)


def test_fresh_negative_takes_window_dims(small_dset):
    regions = CocoRegions(small_dset)
    tr = regions.get_negative(rng=2, window_dims=(12, 20))
    assert tr['window_dims'] == (12, 20) and tr['aid'] == -1
    assert _fractions(regions, tr).max(initial=0) <= regions.neg_thresh


def test_out_of_range_indexes_raise_naming_index_and_range(small_dset):
    regions = CocoRegions(small_dset)
    regions.preselect(n_pos=3, n_neg=2, window_dims=(16, 16), rng=0)
    assert regions.n_samples == 5
    # negative indexes within range keep Python semantics
    assert regions.get_item(-1) == regions.get_negative(1) == regions.get_negative(-1)
    assert regions.get_item(-5) == regions.get_positive(0) == regions.get_positive(-3)
    cases = [(regions.get_item, -6, 'sample', 5), (regions.get_item, 5, 'sample', 5),
             (regions.get_positive, -4, 'positive', 3), (regions.get_positive, 3, 'positive', 3),
             (regions.get_negative, -3, 'negative', 2), (regions.get_negative, 2, 'negative', 2)]
    for draw, index, pool, n in cases:
        with pytest.raises(IndexOutOfRangeError, match=rf'{pool} index={index} .*-{n} <= index < {n}'):
            draw(index)
