"""Round trip through the sampler (issue 6 §3): grid -> identity model -> stitch -> COG -> new sampler."""
import kwimage
import numpy as np
import pytest

from ndsampler.stitch import CocoStitchingManager

from ndsampler.sampler import CocoSampler
from tests.stitch.test_manager import _make_dataset

CHANS = 'pr|pg|pb'


def _stitch_grid(tmp_path, quantize, scale):
    dset = _make_dataset(tmp_path, sizes=((80, 96), (64, 48)))
    sampler = CocoSampler(dset, workdir=tmp_path / 'work', backend=None)
    grid = sampler.new_sample_grid('image_detection', (32, 32), window_overlap=0.25)
    mgr = CocoStitchingManager(dset, f'rt{scale}', CHANS, quantize=quantize, prob_blocksize=32)
    mgr.register_grid(grid)
    for target in grid['targets']:
        im = sampler.load_sample(target, with_annots=False)['im'].astype(np.float32)
        sl = target['space_slice']
        if scale != 1:
            im = kwimage.imresize(im, scale=scale, interpolation='area')
            sl = tuple(slice(int(s.start * scale), int(s.stop * scale)) for s in sl)
        mgr.accumulate_image(target['gid'], sl, im, scale_asset_from_stitchspace=scale)
        for gid in mgr.ready_image_ids():
            mgr.submit_finalize_image(gid)
    mgr.flush_images()
    assert mgr.managed_image_ids() == [] and mgr.seen_image_ids == set(dset.imgs)
    return dset, sampler, mgr


@pytest.mark.parametrize('quantize', [False, True])
def test_identity_grid_round_trip(tmp_path, quantize):
    dset, sampler, _ = _stitch_grid(tmp_path, quantize, scale=1)
    result = CocoSampler(dset, workdir=tmp_path / 'work2', backend=None)
    for gid in dset.imgs:
        truth = sampler.load_sample({'gid': gid}, with_annots=False)['im'].astype(np.float32)
        back = result.load_sample({'gid': gid, 'channels': CHANS}, with_annots=False)['im']
        q = dset.imgs[gid]['assets'][0].get('quantization')
        step = 0 if q is None else (q['orig_max'] - q['orig_min']) / (q['quant_max'] - q['quant_min'])
        np.testing.assert_allclose(back, truth, rtol=0, atol=step + 1e-4)


def test_half_scale_round_trip_aligns_in_image_space(tmp_path):
    dset, sampler, _ = _stitch_grid(tmp_path, quantize=False, scale=0.5)
    result = CocoSampler(dset, workdir=tmp_path / 'work2', backend=None)
    for gid in dset.imgs:
        truth = sampler.load_sample({'gid': gid}, with_annots=False)['im'].astype(np.float32)
        small = kwimage.imresize(truth, scale=0.5, interpolation='area')
        asset = dset.imgs[gid]['assets'][0]
        assert (asset['width'], asset['height']) == (small.shape[1], small.shape[0])
        back = result.load_sample({'gid': gid, 'channels': CHANS, 'interpolation': 'linear'},
                                  with_annots=False)['im']
        assert back.shape == truth.shape
        # aligned: image pixel centre x + 0.5 samples the asset at (x + 0.5) / 2 (corner convention)
        expect = kwimage.imresize(small, dsize=truth.shape[1::-1], interpolation='linear')
        np.testing.assert_allclose(back[1:-1, 1:-1], expect[1:-1, 1:-1], atol=1e-2)
