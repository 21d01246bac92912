import kwcoco
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ndsampler import errors
from ndsampler.geometry import window_from_center
from ndsampler.regions import CocoRegions, visible_fraction
from ndsampler_torch import (BalancedPlan, GridPlan, NegativePlan, PositivePlan, RandomWindowPlan, SyntheticSampler,
                             make_plan, plan_regions)


@pytest.fixture(scope='module')
def sampler():
    return SyntheticSampler.demo(n_images=6, n_annots=60, n_classes=3, image_dsize=(200, 150), seed=1)


@pytest.fixture(scope='module')
def regions(sampler):
    return sampler.regions


def _window(target):
    sl_y, sl_x = target['slices']
    return sl_y.start, sl_x.start, sl_y.stop - sl_y.start, sl_x.stop - sl_x.start


def _ltrb(target):
    y0, x0, h, w = _window(target)
    return [x0, y0, x0 + w, y0 + h]


def _dataset(image_sizes, boxes=(), labels=None, names=('a', 'b', 'c')):
    """Images of the given (w, h) in one dataset; ``boxes`` (ltrb) go to the first image."""
    dset = kwcoco.CocoDataset()
    cids = [dset.add_category(name) for name in names]
    gids = [dset.add_image(name=f'img{k}', width=w, height=h) for k, (w, h) in enumerate(image_sizes)]
    for k, (x1, y1, x2, y2) in enumerate(boxes):
        label = 0 if labels is None else labels[k]
        dset.add_annotation(image_id=gids[0], category_id=cids[label], bbox=[x1, y1, x2 - x1, y2 - y1])
    return dset


@pytest.mark.parametrize('name', ['random', 'positives', 'negatives', 'balanced', 'grid'])
def test_plans_are_pure_functions_of_seed_epoch_index(sampler, regions, name):
    plan = make_plan(name, sampler, (32, 48), seed=3)
    twin = make_plan(name, sampler, (32, 48), seed=3)
    assert plan.regions is regions
    assert len(plan) > 0
    for i in [0, len(plan) // 2, len(plan) - 1]:
        assert plan[i] == twin[i] == plan.draw(i, 0)
        assert _window(plan[i])[2:] == (32, 48)
        assert plan[i]['gid'] in set(regions.image_ids)
        if 'cx' in plan[i]:  # regions' centred targets: the slices are the window the sampler resolves
            assert window_from_center(plan[i]['cx'], plan[i]['cy'], 48, 32) == plan[i]['slices']
    with pytest.raises(IndexError):
        plan[len(plan)]
    with pytest.raises(errors.IndexOutOfRangeError, match=rf'plan index -1 out of range \[0, {len(plan)}\)'):
        plan[-1]


@pytest.mark.parametrize('name,changes', [('random', True), ('negatives', True), ('balanced', True),
                                          ('positives', False), ('grid', False)])
def test_set_epoch_redraws_random_windows_only(sampler, name, changes):
    plan = make_plan(name, sampler, (32, 32), seed=0)
    first = [plan[i] for i in range(len(plan))]
    plan.set_epoch(1)
    assert plan.epoch == 1
    second = [plan[i] for i in range(len(plan))]
    assert (first != second) == changes
    plan.set_epoch(0)
    assert [plan[i] for i in range(len(plan))] == first


def test_seed_changes_random_windows(regions):
    a = RandomWindowPlan(regions, (32, 32), length=20, seed=0)
    b = RandomWindowPlan(regions, (32, 32), length=20, seed=1)
    assert [a[i] for i in range(20)] != [b[i] for i in range(20)]


def test_random_window_centres_cover_the_images(regions):
    plan = RandomWindowPlan(regions, (40, 60), length=400, seed=0)
    assert len(plan) == 400 and plan.kind_of(plan[0]) == 'random'
    centres = np.array([(plan[i]['cx'], plan[i]['cy']) for i in range(len(plan))])
    assert (centres >= 0).all() and (centres[:, 0] <= 200).all() and (centres[:, 1] <= 150).all()
    # uniform over pixels: every quadrant of the images gets about a quarter of the windows
    quadrant = (centres[:, 0] >= 100) * 2 + (centres[:, 1] >= 75)
    assert np.allclose(np.bincount(quadrant, minlength=4) / len(plan), 0.25, atol=0.07)
    assert len({plan[i]['gid'] for i in range(len(plan))}) == 6


def test_positive_window_centred_on_its_annotation(regions):
    plan = PositivePlan(regions, (31, 32))
    assert len(plan) == regions.n_positives == 60
    table = regions.table
    for i in range(len(plan)):
        target = plan[i]
        y0, x0, h, w = _window(target)
        row = table['positive_rows'][i]
        x1, y1, x2, y2 = table['ltrb'][row]
        assert x0 == np.floor((x1 + x2) / 2 - w / 2) and y0 == np.floor((y1 + y2) / 2 - h / 2)
        assert target['aid'] == table['aid'][row] and target['label'] == table['label'][row]
        assert target['gid'] == table['gid'][row]
        assert plan.kind_of(target) == 'positive'


def test_positive_plan_keeps_its_pool_when_the_regions_preselect_later():
    regions = SyntheticSampler.demo(n_images=2, n_annots=10, image_dsize=(80, 60), seed=3).regions
    plan = PositivePlan(regions, (16, 16))
    before = [plan[i] for i in range(len(plan))]
    regions.preselect(n_pos=3, n_neg=2, window_dims=(8, 8), rng=0)  # the shared regions get a new pool
    assert len(plan) == 10 and [plan[i] for i in range(len(plan))] == before
    assert len(PositivePlan(regions, (16, 16))) == 3  # a plan built afterwards sees the preselection


def test_positive_jitter_is_bounded_and_redrawn_per_epoch(regions):
    plain = PositivePlan(regions, (32, 32))
    plan = PositivePlan(regions, (32, 32), jitter=0.25)
    shifts = []
    for i in range(len(plan)):
        (y0, x0, _, _), (py0, px0, _, _) = _window(plan[i]), _window(plain[i])
        assert abs(y0 - py0) <= 9 and abs(x0 - px0) <= 9
        shifts.append((y0 - py0, x0 - px0))
    assert any(s != (0, 0) for s in shifts)
    epoch0 = [plan[i] for i in range(len(plan))]
    plan.set_epoch(2)
    assert epoch0 != [plan[i] for i in range(len(plan))]


def test_negative_windows_avoid_annotations(regions):
    plan = NegativePlan(regions, (24, 24), length=50, seed=0)
    for i in range(len(plan)):
        target = plan[i]
        assert target['aid'] == -1 and plan.kind_of(target) == 'negative'
        assert regions.overlapping_aids(target['gid'], _ltrb(target)) == []


def test_negatives_follow_the_regions_threshold():
    dset = _dataset([(64, 64)], boxes=[(0, 0, 64, 64)])
    with pytest.raises(errors.WindowError):  # every window shows the box
        NegativePlan(dset, (16, 16), length=3)[0]
    loose = NegativePlan(CocoRegions(dset, neg_thresh=0.5), (16, 16), length=3)
    assert all(_window(loose[i])[2:] == (16, 16) for i in range(3))


def test_balanced_ratio_and_classes():
    # class a has 10x the annotations of class c; balanced sampling ignores that
    labels = [0] * 100 + [1] * 30 + [2] * 10
    n = len(labels)
    boxes = [(10 + 20 * (k % 40), 10 + 20 * (k // 40), 20 + 20 * (k % 40), 20 + 20 * (k // 40)) for k in range(n)]
    regions = CocoRegions(_dataset([(1000, 1000)], boxes, labels))
    plan = BalancedPlan(regions, (16, 16), length=3000, neg_to_pos_ratio=0.5, seed=0)
    kinds = np.array([plan.kind_of(plan[i]) for i in range(len(plan))])
    assert abs((kinds == 'negative').mean() - 1 / 3) < 0.04
    pos_labels = np.array([plan[i]['label'] for i in np.flatnonzero(kinds == 'positive')])
    assert np.allclose(np.bincount(pos_labels, minlength=3) / len(pos_labels), 1 / 3, atol=0.04)
    weighted = BalancedPlan(regions, (16, 16), length=2000, neg_to_pos_ratio=0,
                            class_weights={'a': 3, regions.lookup_class_id('c'): 0})
    w_labels = np.array([weighted[i]['label'] for i in range(len(weighted))])
    assert set(w_labels.tolist()) == {0, 1}
    assert abs((w_labels == 0).mean() - 0.75) < 0.04
    freq = BalancedPlan(regions, (16, 16), neg_to_pos_ratio=0, class_weights='frequency')
    assert len(freq) == n
    assert np.allclose(freq.class_probs, np.array([100, 30, 10]) / n)


def test_balanced_errors_and_negatives_only(sampler):
    empty = _dataset([(64, 64)])
    plan = BalancedPlan(empty, (8, 8), length=5)
    assert {plan.kind_of(plan[i]) for i in range(5)} == {'negative'}
    with pytest.raises(errors.InvalidOptionError):
        BalancedPlan(empty, (8, 8), neg_to_pos_ratio=0)
    with pytest.raises(errors.InvalidOptionError):
        BalancedPlan(sampler, (8, 8), class_weights={'class1': 0, 'class2': 0, 'class3': 0})
    with pytest.raises(errors.InvalidOptionError):
        BalancedPlan(sampler, (8, 8), class_weights='inverse')
    with pytest.raises(errors.InvalidOptionError):
        BalancedPlan(sampler, (8, 8), neg_to_pos_ratio=-1)
    with pytest.raises(errors.UnknownIdError):
        BalancedPlan(sampler, (8, 8), class_weights={'nope': 1})


@given(w=st.integers(1, 120), h=st.integers(1, 120), win=st.integers(1, 50), overlap=st.sampled_from([0, 0.25, 0.5]))
def test_grid_covers_every_pixel_and_pads_the_last_window(w, h, win, overlap):
    plan = GridPlan(_dataset([(w, h), (h, w)]), (win, win), window_overlap=overlap)
    covered = {1: np.zeros((h, w), int), 2: np.zeros((w, h), int)}
    for i in range(len(plan)):
        y0, x0, hh, ww = _window(plan[i])
        assert (hh, ww) == (win, win) and y0 >= 0 and x0 >= 0
        canvas = covered[plan[i]['gid']]
        assert y0 < canvas.shape[0] and x0 < canvas.shape[1]  # no window lies wholly in the padding
        canvas[y0:y0 + hh, x0:x0 + ww] += 1
    assert all(c.min() >= 1 for c in covered.values())
    if overlap == 0:
        assert all(c.max() == 1 for c in covered.values())


def test_grid_targets_list_their_annotations(sampler, regions):
    plan = GridPlan(sampler, (64, 64), window_overlap=16)
    assert plan[0] is not plan.targets[0]  # callers may edit the target they get
    table = regions.table
    for i in range(0, len(plan), 7):
        target = plan[i]
        rows = np.flatnonzero(table['gid'] == target['gid'])
        shown = rows[visible_fraction(table['ltrb'][rows], _ltrb(target)) > 0]
        assert sorted(target['aids']) == sorted(table['aid'][shown].tolist())
    assert len(GridPlan(sampler, (64, 64), grid_kw={'use_annots': False})) == len(GridPlan(sampler, (64, 64)))


def test_plan_argument_errors(sampler):
    with pytest.raises(errors.WindowError):
        RandomWindowPlan(sampler, (0, 5))
    with pytest.raises(errors.WindowError):
        RandomWindowPlan(sampler, 'big')
    with pytest.raises(errors.InvalidOptionError):
        make_plan('sliding', sampler, (8, 8))
    with pytest.raises(errors.InvalidOptionError):
        GridPlan(sampler, (8, 8), window_overlap=1.0)
    with pytest.raises(errors.InvalidOptionError):
        PositivePlan(sampler, (8, 8), jitter=2)
    with pytest.raises(errors.InvalidOptionError):
        RandomWindowPlan(sampler, (8, 8)).set_epoch(-1)
    with pytest.raises(errors.InvalidOptionError):
        RandomWindowPlan(sampler, (8, 8), length=-1)
    with pytest.raises(errors.InvalidOptionError):
        RandomWindowPlan(_dataset([]), (8, 8))
    with pytest.raises(errors.InvalidOptionError):
        plan_regions(42)


def test_plans_over_a_kwcoco_dataset(tmp_path):
    dset = kwcoco.CocoDataset.demo('shapes8', dpath=tmp_path / 'demo')
    regions = plan_regions(dset)
    assert isinstance(regions, CocoRegions) and regions.dset is dset
    assert plan_regions(regions) is regions
    plan = PositivePlan(dset, (48, 48))
    assert len(plan) == regions.n_positives
    aids = {plan[i]['aid'] for i in range(len(plan))}
    positives = {a for a, ann in dset.anns.items() if dset.cats[ann['category_id']]['name'] != 'background'}
    assert aids == positives
