import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ndsampler import errors
from ndsampler_torch import (BalancedPlan, GridPlan, NegativePlan, PlanIndex, PositivePlan, RandomWindowPlan,
                             SyntheticSampler, make_plan)


@pytest.fixture(scope='module')
def index():
    return SyntheticSampler.demo(n_images=6, n_annots=60, n_classes=3, image_dsize=(200, 150), seed=1).plan_index


def _window(target):
    sl_y, sl_x = target['slices']
    return sl_y.start, sl_x.start, sl_y.stop - sl_y.start, sl_x.stop - sl_x.start


@pytest.mark.parametrize('name', ['random', 'positives', 'negatives', 'balanced', 'grid'])
def test_plans_are_pure_functions_of_seed_epoch_index(index, name):
    plan = make_plan(name, index, (32, 48), seed=3)
    twin = make_plan(name, index, (32, 48), seed=3)
    assert len(plan) > 0
    for i in [0, len(plan) // 2, len(plan) - 1]:
        assert plan[i] == twin[i] == plan.draw(i, 0)
        assert _window(plan[i])[2:] == (32, 48)
        assert plan[i]['gid'] in set(index.image_ids.tolist())
    with pytest.raises(IndexError):
        plan[len(plan)]


@pytest.mark.parametrize('name,changes', [('random', True), ('negatives', True), ('balanced', True),
                                          ('positives', False), ('grid', False)])
def test_set_epoch_redraws_random_windows_only(index, name, changes):
    plan = make_plan(name, index, (32, 32), seed=0)
    first = [plan[i] for i in range(len(plan))]
    plan.set_epoch(1)
    assert plan.epoch == 1
    second = [plan[i] for i in range(len(plan))]
    assert (first != second) == changes
    plan.set_epoch(0)
    assert [plan[i] for i in range(len(plan))] == first


def test_seed_changes_random_windows(index):
    a = RandomWindowPlan(index, (32, 32), length=20, seed=0)
    b = RandomWindowPlan(index, (32, 32), length=20, seed=1)
    assert [a[i] for i in range(20)] != [b[i] for i in range(20)]


def test_random_windows_stay_inside_larger_images(index):
    plan = RandomWindowPlan(index, (40, 60), length=200, seed=0)
    assert len(plan) == 200
    for i in range(len(plan)):
        y0, x0, h, w = _window(plan[i])
        assert 0 <= y0 and y0 + h <= 150 and 0 <= x0 and x0 + w <= 200


def test_random_window_is_centred_on_a_small_image():
    plan = RandomWindowPlan(PlanIndex([5], [(10, 20)]), (30, 30))
    assert plan[0]['slices'] == (slice(-5, 25), slice(-10, 20))
    assert len(plan) == 1


def test_positive_window_centred_on_its_annotation(index):
    plan = PositivePlan(index, (31, 32))
    assert len(plan) == index.n_annots
    for i in range(len(plan)):
        target = plan[i]
        y0, x0, h, w = _window(target)
        x1, y1, x2, y2 = index.ann_ltrb[i]
        assert x0 == np.floor((x1 + x2) / 2 - w / 2) and y0 == np.floor((y1 + y2) / 2 - h / 2)
        assert target['aid'] == index.ann_ids[i] and target['label'] == index.ann_label[i]
        assert target['gid'] == index.image_ids[index.ann_image[i]]
        assert target['kind'] == 'positive'


def test_positive_jitter_is_bounded_and_redrawn_per_epoch(index):
    plain = PositivePlan(index, (32, 32))
    plan = PositivePlan(index, (32, 32), jitter=0.25)
    shifts = []
    for i in range(len(plan)):
        (y0, x0, _, _), (py0, px0, _, _) = _window(plan[i]), _window(plain[i])
        assert abs(y0 - py0) <= 9 and abs(x0 - px0) <= 9
        shifts.append((y0 - py0, x0 - px0))
    assert any(s != (0, 0) for s in shifts)
    epoch0 = [plan[i] for i in range(len(plan))]
    plan.set_epoch(2)
    assert epoch0 != [plan[i] for i in range(len(plan))]


def _overlap(index, target):
    y0, x0, h, w = _window(target)
    pos = int(np.flatnonzero(index.image_ids == target['gid'])[0])
    boxes = index.ann_ltrb[index.image_annots(pos)]
    iw = np.clip(np.minimum(boxes[:, 2], x0 + w) - np.maximum(boxes[:, 0], x0), 0, None)
    ih = np.clip(np.minimum(boxes[:, 3], y0 + h) - np.maximum(boxes[:, 1], y0), 0, None)
    return float((iw * ih).sum())


def test_negative_windows_avoid_annotations(index):
    plan = NegativePlan(index, (24, 24), length=50, seed=0)
    assert all(_overlap(index, plan[i]) == 0 for i in range(len(plan)))
    assert {plan[i]['kind'] for i in range(len(plan))} == {'negative'}


def test_negative_falls_back_to_least_overlap_when_everything_is_annotated():
    index = PlanIndex([1], [(64, 64)], ann_ids=[1], ann_image=[0], ann_ltrb=[(0, 0, 64, 64)], ann_label=[0],
                      class_ids=[1])
    plan = NegativePlan(index, (16, 16), length=3, max_tries=4)
    assert all(_window(plan[i])[2:] == (16, 16) for i in range(3))


def test_balanced_ratio_and_uniform_classes():
    # class 0 has 10x the annotations of class 2; balanced sampling ignores that
    labels = [0] * 100 + [1] * 30 + [2] * 10
    n = len(labels)
    index = PlanIndex([1], [(1000, 1000)], ann_ids=np.arange(n), ann_image=np.zeros(n, int),
                      ann_ltrb=np.tile([10, 10, 20, 20], (n, 1)), ann_label=labels, class_ids=[1, 2, 3],
                      class_names=['a', 'b', 'c'])
    plan = BalancedPlan(index, (16, 16), length=3000, neg_to_pos_ratio=0.5, seed=0)
    kinds = np.array([plan[i]['kind'] for i in range(len(plan))])
    assert abs((kinds == 'negative').mean() - 1 / 3) < 0.04
    pos_labels = np.array([plan[i]['label'] for i in range(len(plan)) if plan[i]['kind'] == 'positive'])
    assert np.allclose(np.bincount(pos_labels, minlength=3) / len(pos_labels), 1 / 3, atol=0.04)
    weighted = BalancedPlan(index, (16, 16), length=2000, neg_to_pos_ratio=0, class_weights={'a': 3, 3: 0})
    w_labels = np.array([weighted[i]['label'] for i in range(len(weighted))])
    assert set(w_labels.tolist()) == {0, 1}
    assert abs((w_labels == 0).mean() - 0.75) < 0.04
    freq = BalancedPlan(index, (16, 16), neg_to_pos_ratio=0, class_weights='frequency')
    assert len(freq) == n
    assert np.allclose(freq.class_probs, np.array([100, 30, 10]) / n)


def test_balanced_errors_and_negatives_only():
    index = PlanIndex([1], [(64, 64)], class_ids=[1])
    assert {BalancedPlan(index, (8, 8), length=5)[i]['kind'] for i in range(5)} == {'negative'}
    full = SyntheticSampler.demo(n_classes=2).plan_index
    with pytest.raises(errors.InvalidOptionError):
        BalancedPlan(full, (8, 8), class_weights={'class1': 0, 'class2': 0})
    with pytest.raises(errors.InvalidOptionError):
        BalancedPlan(full, (8, 8), class_weights='inverse')
    with pytest.raises(errors.UnknownIdError):
        BalancedPlan(full, (8, 8), class_weights={'nope': 1})


@given(w=st.integers(1, 120), h=st.integers(1, 120), win=st.integers(1, 50), overlap=st.sampled_from([0, 0.25, 0.5]))
def test_grid_covers_every_pixel_and_pads_the_last_window(w, h, win, overlap):
    plan = GridPlan(PlanIndex([1, 2], [(w, h), (h, w)]), (win, win), window_overlap=overlap)
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


def test_plan_argument_errors(index):
    with pytest.raises(errors.WindowError):
        RandomWindowPlan(index, (0, 5))
    with pytest.raises(errors.WindowError):
        RandomWindowPlan(index, 'big')
    with pytest.raises(errors.InvalidOptionError):
        make_plan('sliding', index, (8, 8))
    with pytest.raises(errors.InvalidOptionError):
        GridPlan(index, (8, 8), window_overlap=1.0)
    with pytest.raises(errors.InvalidOptionError):
        PositivePlan(index, (8, 8), jitter=2)
    with pytest.raises(errors.InvalidOptionError):
        RandomWindowPlan(index, (8, 8)).set_epoch(-1)
    with pytest.raises(errors.InvalidOptionError):
        RandomWindowPlan(PlanIndex([], []), (8, 8))
    with pytest.raises(errors.InvalidOptionError):
        PlanIndex.coerce(42)


def test_plan_index_from_kwcoco(tmp_path):
    import kwcoco
    dset = kwcoco.CocoDataset.demo('shapes8', dpath=tmp_path / 'demo')
    index = PlanIndex.coerce(dset)
    assert index.n_images == 8 and index.n_annots == len(dset.anns)
    classes = dset.object_categories()
    assert index.class_names == list(classes.idx_to_node)
    for pos in range(index.n_images):
        gid = int(index.image_ids[pos])
        aids = sorted(index.ann_ids[index.image_annots(pos)].tolist())
        assert aids == sorted(dset.index.gid_to_aids[gid])
    aid = int(index.ann_ids[0])
    x, y, w, h = dset.anns[aid]['bbox']
    assert np.allclose(index.ann_ltrb[0], [x, y, x + w, y + h])
    assert classes.idx_to_id[index.ann_label[0]] == dset.anns[aid]['category_id']
    with pytest.raises(errors.UnknownIdError):
        index.labels_of([12345])
