import pickle

import kwimage
import numpy as np
import pytest
import torch

from ndsampler import errors
from ndsampler_torch import (PositivePlan, RandomHorizontalFlip, SamplerDataset, SyntheticSampler, collate)
from ndsampler_torch import _shared_ring
from ndsampler_torch._collate import Batch


@pytest.fixture(scope='module')
def sampler():
    return SyntheticSampler.demo(n_images=5, n_annots=40, n_classes=3, image_dsize=(160, 120), seed=2)


def _abs_boxes(item):
    """Item boxes mapped back to image pixels with tf_rel_to_abs (corner-sorted)."""
    tf = item['tf_rel_to_abs'].numpy()
    boxes = item['boxes'].numpy().astype(np.float64)
    corners = kwimage.Boxes(boxes, 'ltrb').warp(tf).to_ltrb().data
    return np.concatenate([np.minimum(corners[:, :2], corners[:, 2:]), np.maximum(corners[:, :2], corners[:, 2:])], 1)


def test_item_layout_and_coordinates(sampler):
    ds = SamplerDataset(sampler, 'positives', window_dims=(48, 64), with_masks=True)
    table = sampler.regions.table
    row_of = {int(a): r for r, a in enumerate(table['aid'])}
    assert len(ds) == sampler.regions.n_positives == 40
    assert ds.class_names == ['class1', 'class2', 'class3']
    for i in range(0, len(ds), 7):
        item = ds[i]
        assert item['im'].shape == (3, 48, 64) and item['im'].dtype == torch.float32
        assert item['boxes'].dtype == torch.float32 and item['boxes'].shape[1] == 4
        assert item['labels'].dtype == torch.int64 and item['aids'].dtype == torch.int64
        assert item['mask'].shape == (48, 64) and item['mask'].dtype == torch.int64
        assert item['tf_rel_to_abs'].shape == (3, 3)
        assert item['kind'] == 'positive' and item['index'] == i
        # the centred annotation is present, and every box maps back onto its image box
        target = ds.plan[i]
        assert target['aid'] in item['aids'].tolist()
        rows = [row_of[a] for a in item['aids'].tolist()]
        assert np.allclose(_abs_boxes(item), table['ltrb'][rows], atol=1e-3)
        assert item['labels'].tolist() == table['label'][rows].tolist()
        assert set(item['mask'].unique().tolist()) <= {0} | {lbl + 1 for lbl in item['labels'].tolist()}
        assert int(item['gid']) == target['gid'] == int(table['gid'][row_of[target['aid']]])


def test_items_are_deterministic_and_epochs_differ(sampler):
    ds = SamplerDataset(sampler, 'random', window_dims=(32, 32), seed=5, transform=RandomHorizontalFlip())
    twin = SamplerDataset(sampler, 'random', window_dims=(32, 32), seed=5, transform=RandomHorizontalFlip())
    first = [ds[i] for i in range(len(ds))]
    for a, b in zip(first, (twin[i] for i in range(len(twin)))):
        assert torch.equal(a['im'], b['im']) and torch.equal(a['boxes'], b['boxes'])
        assert 'rng' not in a
    ds.set_epoch(1)
    assert ds.epoch == 1
    assert any(not torch.equal(a['tf_rel_to_abs'], ds[i]['tf_rel_to_abs']) for i, a in enumerate(first))


def test_flip_keeps_boxes_masks_and_mapping_aligned(sampler):
    plain = SamplerDataset(sampler, 'positives', window_dims=(40, 56), with_masks=True)
    flipped = SamplerDataset(sampler, 'positives', window_dims=(40, 56), with_masks=True,
                             transform=RandomHorizontalFlip(p=1.0))
    for i in range(0, len(plain), 5):
        a, b = plain[i], flipped[i]
        assert torch.equal(b['im'], a['im'].flip(-1)) and torch.equal(b['mask'], a['mask'].flip(-1))
        assert np.allclose(_abs_boxes(a), _abs_boxes(b), atol=1e-4)
        # pixels inside every flipped box carry that box's label in the flipped mask
        for (x1, y1, x2, y2), label in zip(b['boxes'].round().int().tolist(), b['labels'].tolist()):
            if x2 > x1 and y2 > y1:
                assert (b['mask'][y1:y2, x1:x2] > 0).all()
                assert (b['mask'] == label + 1).any()
    never = SamplerDataset(sampler, 'positives', window_dims=(40, 56), transform=RandomHorizontalFlip(p=0.0))
    assert torch.equal(never[0]['im'], plain[0]['im'])
    with pytest.raises(errors.InvalidOptionError):
        RandomHorizontalFlip(p=1.5)


def test_flip_probability_half_flips_some(sampler):
    ds = SamplerDataset(sampler, 'positives', window_dims=(40, 56), transform=RandomHorizontalFlip(0.5))
    plain = SamplerDataset(sampler, 'positives', window_dims=(40, 56))
    flips = [not torch.equal(ds[i]['tf_rel_to_abs'], plain[i]['tf_rel_to_abs']) for i in range(len(ds))]
    assert 0 < sum(flips) < len(flips)


def test_dataset_argument_errors(sampler):
    plan = PositivePlan(sampler, (32, 32))
    assert SamplerDataset(sampler, plan).window_dims == (32, 32)
    with pytest.raises(errors.WindowError):
        SamplerDataset(sampler, plan, window_dims=(16, 16))
    with pytest.raises(errors.WindowError):
        SamplerDataset(sampler, 'random')
    with pytest.raises(errors.InvalidOptionError):
        SamplerDataset(sampler, plan, plan_kw={'jitter': 0.1})
    with pytest.raises(errors.InvalidOptionError):
        SamplerDataset(sampler, 'nope', window_dims=(8, 8))
    with pytest.raises(IndexError):
        SamplerDataset(sampler, plan)[len(plan)]


def test_plan_kw_reaches_the_plan(sampler):
    ds = SamplerDataset(sampler, 'balanced', window_dims=(16, 16), plan_kw={'length': 7, 'neg_to_pos_ratio': 0})
    assert len(ds) == 7 and {ds[i]['kind'] for i in range(7)} == {'positive'}


def test_visible_thresh_drops_mostly_hidden_boxes(sampler):
    loose = SamplerDataset(sampler, 'grid', window_dims=(32, 32))
    strict = SamplerDataset(sampler, 'grid', window_dims=(32, 32), visible_thresh=0.9)
    n_loose = sum(len(loose[i]['aids']) for i in range(len(loose)))
    n_strict = sum(len(strict[i]['aids']) for i in range(len(strict)))
    assert n_strict < n_loose


def test_collate_stacks_fixed_and_lists_variable(sampler):
    ds = SamplerDataset(sampler, 'balanced', window_dims=(32, 32), with_masks=True)
    items = [ds[i] for i in range(6)]
    batch = collate(items)
    assert batch['im'].shape == (6, 3, 32, 32) and batch['mask'].shape == (6, 32, 32)
    assert batch['tf_rel_to_abs'].shape == (6, 3, 3)
    assert isinstance(batch['boxes'], list) and [len(b) for b in batch['boxes']] == [len(it['boxes']) for it in items]
    assert batch['gid'].tolist() == [it['gid'] for it in items] and batch['index'].tolist() == list(range(6))
    assert batch['kind'] == [it['kind'] for it in items]
    jagged = collate([{'im': torch.zeros(3, 8, 8)}, {'im': torch.zeros(3, 4, 6)}])
    assert [t.shape for t in jagged['im']] == [(3, 8, 8), (3, 4, 6)]
    with pytest.raises(errors.InvalidOptionError):
        collate([])
    with pytest.raises(errors.InvalidOptionError):
        collate([{'a': 1}, {'b': 1}])


def test_pickled_dataset_carries_no_pixels(sampler):
    ds = SamplerDataset(sampler, 'positives', window_dims=(64, 64), with_masks=True)
    before = len(pickle.dumps(ds))
    items = [ds[i] for i in range(len(ds))]
    after = len(pickle.dumps(ds))
    assert after == before
    pixel_bytes = sum(it['im'].numel() * 4 for it in items)
    assert before < pixel_bytes / 10
    clone = pickle.loads(pickle.dumps(ds))
    assert torch.equal(clone[3]['im'], items[3]['im'])


def test_batch_pickles_tensors_inline_and_keeps_them(sampler):
    ds = SamplerDataset(sampler, 'balanced', window_dims=(32, 32), with_masks=True)
    batch = collate([ds[i] for i in range(5)])
    batch['half'] = torch.ones(2, dtype=torch.bfloat16)  # no numpy dtype: pickled as a tensor
    clone = pickle.loads(pickle.dumps(batch))
    assert type(clone) is type(batch) and list(clone) == list(batch)
    for key, value in batch.items():
        if isinstance(value, torch.Tensor):
            assert torch.equal(clone[key], value) and clone[key].dtype == value.dtype
        elif value and isinstance(value[0], torch.Tensor):
            assert all(torch.equal(a, b) and a.dtype == b.dtype for a, b in zip(clone[key], value))
        else:
            assert clone[key] == value
    clone['im'] += 1  # writable, and not shared with the sender (an in-process batch pickles inline)
    assert not torch.equal(clone['im'], batch['im'])


def _large_batch_items(num=8):
    return [{'im': torch.full((3, 256, 256), float(k)), 'boxes': torch.zeros(k % 3, 4), 'gid': k} for k in range(num)]


def test_collate_in_a_worker_stacks_large_tensors_into_shared_memory(monkeypatch):
    items = _large_batch_items()  # 6 MiB of images: over the shared-memory threshold
    assert not collate(items)['im'].is_shared()  # the main process: a plain stack
    monkeypatch.setattr(torch.utils.data, 'get_worker_info', lambda: object())
    monkeypatch.setattr(_shared_ring, '_RING', None)  # this test's own ring
    batch = collate(items)
    assert batch['im'].is_shared() and torch.equal(batch['im'], torch.stack([it['im'] for it in items]))
    assert not batch['boxes'][0].is_shared() and not batch['gid'].is_shared()
    wire = batch.__reduce__()[1][0]
    assert wire['im'][0] == 'ring'  # crosses as a slot of the worker's shared-memory ring
    assert wire['gid'][0] == 'tensor' and wire['boxes'][0] == 'split'  # small ones inline: per-sample boxes as one array


def _index_batches(num_workers):
    dataset = [dict(it, index=k) for k, it in enumerate(_large_batch_items(16))]  # batches of 6 MiB images
    loader = torch.utils.data.DataLoader(dataset, batch_size=8, collate_fn=collate, num_workers=num_workers,
                                         multiprocessing_context='fork' if num_workers else None)
    return [(b['index'].tolist(), b['im'], [x.shape[0] for x in b['boxes']]) for b in loader]


def test_large_batches_from_workers_equal_the_main_process():
    got, ref = _index_batches(2), _index_batches(0)
    assert [g[0] for g in got] == [r[0] for r in ref] == [list(range(8)), list(range(8, 16))]
    assert all(torch.equal(g[1], r[1]) and g[2] == r[2] for g, r in zip(got, ref))


@pytest.mark.parametrize('values,kind', [
    ([torch.zeros(0, 4), torch.ones(2, 4)], 'split'),  # per-sample rows: one array
    ([torch.zeros(1, 4), torch.ones(2, 4, dtype=torch.float64)], 'list'),  # dtypes differ
    ([torch.zeros(1, 4), torch.ones(2, 3)], 'list'),  # trailing shapes differ
    ([torch.zeros(3), torch.ones(3, 1)], 'list'),  # dimensions differ
    ([torch.zeros(2, dtype=torch.bfloat16)] * 2, 'value'),  # no numpy dtype: torch pickles them
    ([torch.zeros(2, requires_grad=True)], 'value'),
    ([[torch.zeros(3, 2, 2)], [torch.ones(1, 4, 4), torch.ones(2, 2, 2)]], 'list'),  # jagged native parts
    (['positive', 'negative'], 'value'),
])
def test_lists_of_tensors_cross_as_one_array_when_they_can(values, kind):
    packed = Batch(x=values).__reduce__()[1][0]['x']
    assert packed[0] == kind
    clone = pickle.loads(pickle.dumps(Batch(x=values)))['x']

    def same(a, b):
        if isinstance(a, list):
            return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
        if isinstance(a, torch.Tensor):
            return a.dtype == b.dtype and a.shape == b.shape and torch.equal(a.detach(), b.detach())
        return a == b

    assert same(clone, values)

