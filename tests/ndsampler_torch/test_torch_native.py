"""Native-resolution items: per-band-group parts with their warps, jagged through collate and workers."""
import pickle

import kwcoco
import numpy as np
import pytest
import torch

from ndsampler.errors import InvalidOptionError
from ndsampler.sampler import CocoSampler
from ndsampler_torch import RandomHorizontalFlip, SamplerDataset, collate

WINDOW = (48, 60)


@pytest.fixture(scope='module')
def sampler(tmp_path_factory):
    root = tmp_path_factory.mktemp('native')
    dset = kwcoco.CocoDataset.demo('vidshapes2-multispectral', dpath=root / 'demo', verbose=0, num_frames=2, rng=0)
    return CocoSampler(dset, workdir=root / 'work')


def _dataset(sampler, **kw):
    return SamplerDataset(sampler, 'grid', window_dims=WINDOW, with_masks=True, use_native_scale=True, **kw)


def _asset_scales(sampler, gid):
    return [asset['warp_aux_to_img'].get('scale', 1.0) for asset in sampler.dset.imgs[gid]['auxiliary']]


def test_native_items_hold_parts_at_their_resolution(sampler):
    ds = _dataset(sampler)
    scaled = SamplerDataset(sampler, 'grid', window_dims=WINDOW)
    for index in (0, len(ds) // 2, len(ds) // 2 + 7):  # windows inside the image
        item, plain = ds[index], scaled[index]
        scales = _asset_scales(sampler, item['gid'])
        assert sorted(set(scales)) == [1.0, 3.0, 6.0]
        assert [tuple(part.shape[1:]) for part in item['im']] == [(WINDOW[0] // s, WINDOW[1] // s) for s in scales]
        assert all(part.dtype == torch.float32 and part.is_contiguous() for part in item['im'])
        assert sum(part.shape[0] for part in item['im']) == plain['im'].shape[0]
        for scale, warp in zip(scales, item['native_warps']):
            assert warp.dtype == torch.float64
            assert torch.allclose(warp, torch.diag(torch.tensor([scale, scale, 1.0], dtype=torch.float64)))
        assert item['sample_hw'].tolist() == list(WINDOW) and item['mask'].shape == WINDOW
        # full-resolution parts are the scaled item's bands; boxes and mask are the same
        full = [k for k, s in enumerate(scales) if s == 1.0]
        first = sum(item['im'][k].shape[0] for k in range(full[0]))
        assert torch.equal(item['im'][full[0]], plain['im'][first:first + item['im'][full[0]].shape[0]])
        assert torch.equal(item['boxes'], plain['boxes']) and torch.equal(item['tf_rel_to_abs'], plain['tf_rel_to_abs'])


def test_native_parts_of_a_window_past_the_border(sampler):
    ds = _dataset(sampler)
    item = ds[len(ds) - 1]  # the last grid window of the last image is padded
    assert ds.plan[len(ds) - 1]['slices'][0].stop > sampler.dset.imgs[item['gid']]['height']
    assert len(item['im']) == len(_asset_scales(sampler, item['gid']))


def test_realign_native_gives_one_part_at_the_finest_resolution(sampler):
    ds = _dataset(sampler, realign_native=True)
    item = ds[0]
    assert len(item['im']) == 1 and len(item['native_warps']) == 1
    assert item['im'][0].shape[1:] == WINDOW
    num_bands = sum(part.shape[0] for part in _dataset(sampler)[0]['im'])
    assert item['im'][0].shape[0] == num_bands
    with pytest.raises(InvalidOptionError):
        SamplerDataset(sampler, 'grid', window_dims=WINDOW, realign_native=True)
    with pytest.raises(InvalidOptionError):
        _dataset(sampler, realign_native='smallest')


def test_flip_keeps_native_parts_aligned(sampler):
    ds = _dataset(sampler)
    flipped = _dataset(sampler, transform=RandomHorizontalFlip(p=1.0))
    item, flip = ds[3], flipped[3]
    width = WINDOW[1]
    for part, fpart, warp, fwarp in zip(item['im'], flip['im'], item['native_warps'], flip['native_warps']):
        assert torch.equal(fpart, part.flip(-1))
        # a part pixel corner x maps to sample x' = warp(x); its mirror maps to width - x'
        h, w = part.shape[1:]
        corners = torch.tensor([[0.0, 0.0, 1.0], [w, h, 1.0]], dtype=torch.float64).T
        mirrored = torch.tensor([[w, 0.0, 1.0], [0.0, h, 1.0]], dtype=torch.float64).T
        expect = warp @ corners
        got = fwarp @ mirrored
        assert torch.allclose(got[0], width - expect[0]) and torch.allclose(got[1], expect[1])
    assert torch.equal(flip['mask'], item['mask'].flip(-1))


def _batches(ds, num_workers):
    loader = torch.utils.data.DataLoader(torch.utils.data.Subset(ds, range(9)), batch_size=3, collate_fn=collate, num_workers=num_workers,
                                         multiprocessing_context='fork' if num_workers else None)
    return list(loader)


@pytest.mark.parametrize('num_workers', [0, 2])
def test_dataloader_keeps_parts_jagged(sampler, num_workers):
    ds = _dataset(sampler)
    batches = _batches(ds, num_workers)
    assert [len(b['im']) for b in batches] == [3, 3, 3]
    batch = batches[0]
    assert isinstance(batch['im'], list) and all(isinstance(parts, list) for parts in batch['im'])
    assert len({part.shape for part in batch['im'][0]}) > 1  # different resolutions in one item
    assert batch['mask'].shape == (3, *WINDOW) and batch['sample_hw'].tolist() == [list(WINDOW)] * 3
    for k in range(3):
        item = ds[k]
        assert all(torch.equal(a, b) for a, b in zip(batch['im'][k], item['im']))
        assert all(torch.equal(a, b) for a, b in zip(batch['native_warps'][k], item['native_warps']))
    if num_workers:
        reference = _batches(ds, 0)
        for got, ref in zip(batches, reference):
            assert got['index'].tolist() == ref['index'].tolist()
            assert all(torch.equal(a, b) for pa, pb in zip(got['im'], ref['im']) for a, b in zip(pa, pb))


def test_batch_pickles_nested_parts_inline():
    batch = collate([{'im': [torch.ones(1, 2, 2), torch.zeros(2, 1, 1)], 'gid': 1},
                     {'im': [torch.ones(1, 4, 4)], 'gid': 2}])
    clone = pickle.loads(pickle.dumps(batch))
    assert [[tuple(p.shape) for p in parts] for parts in clone['im']] == [[(1, 2, 2), (2, 1, 1)], [(1, 4, 4)]]
    assert all(torch.equal(a, b) for pa, pb in zip(clone['im'], batch['im']) for a, b in zip(pa, pb))
    wire = batch.__reduce__()[1][0]
    assert wire['im'][0] == 'list' and isinstance(wire['im'][1][0][1][0][1], np.ndarray)
