"""CocoSampler over kwcoco's 'vidshapes1-msi-multisensor': frames of two sensors with different bands.

kwcoco 0.9.1 with kwimage 0.12 (no GDAL Python bindings) writes each 2-band asset
('B8|B11', 'B10|B11', 'flowx|flowy') as one band of width 2, which the frames layer
rightly refuses. The module fixture rewrites those assets as proper (H, W, C) GeoTIFFs;
``test_generated_assets_needed_repair`` fails once kwcoco writes them correctly.
"""
import warnings

import numpy as np
import pytest
import rasterio

import kwcoco
from ndsampler import CocoSampler
from ndsampler.channels import FusedChannelSpec, SensorChanSpec

BACKENDS = [None, 'npy', 'cog']
WINDOW = (slice(10, 74), slice(-6, 64))  # 64 x 70, past the left border


def _asset_paths(dset):
    """``(gid, asset, fpath)`` of every asset of every image."""
    for img in dset.dataset['images']:
        for asset in img.get('auxiliary', img.get('assets', [])):
            yield img['id'], asset, dset.bundle_dpath + '/' + asset['file_name']


def _repair_multiband_assets(dset):
    """Rewrite every asset whose band count differs from its channels as a (H, W, C) GeoTIFF.

    Returns ``[(gid, channels, (count, height, width) as found)]`` of the rewritten assets.
    The new pixels are a smooth ramp, a deterministic function of the image id and the band.
    """
    repaired = []
    for gid, asset, fpath in _asset_paths(dset):
        num_bands = FusedChannelSpec.coerce(asset['channels']).numel()
        with warnings.catch_warnings(), rasterio.open(fpath) as src:
            warnings.simplefilter('ignore', rasterio.errors.NotGeoreferencedWarning)
            found, dtype = (src.count, src.height, src.width), src.dtypes[0]
        if found[0] == num_bands:
            continue
        width, height = asset['width'], asset['height']
        yy, xx = np.mgrid[0:height, 0:width]
        ramp = (xx + yy) * (150.0 / (width + height))  # smooth: resampling it differs by < 1 per pixel
        data = np.stack([np.round(20 + 10 * band + gid + ramp) for band in range(num_bands)]).astype(dtype)
        with rasterio.open(fpath, 'w', driver='GTiff', width=width, height=height, count=num_bands,
                           dtype=dtype) as dst:
            dst.write(data)
        repaired.append((gid, asset['channels'], found))
    return repaired


@pytest.fixture(scope='module')
def multisensor(tmp_path_factory):
    root = tmp_path_factory.mktemp('multisensor')
    # rng fixed (kwcoco's default seed hashes dpath): 4 frames, one of each of its 4 sensors
    dset = kwcoco.CocoDataset.demo('vidshapes1-msi-multisensor', dpath=root / 'demo', verbose=0,
                                   num_frames=4, rng=14)
    repaired = _repair_multiband_assets(dset)
    return dset, repaired


@pytest.fixture(scope='module')
def samplers(multisensor, tmp_path_factory):
    dset = multisensor[0]
    work = tmp_path_factory.mktemp('multisensor_work')
    return {backend: CocoSampler(dset, workdir=work / str(backend), backend=backend) for backend in BACKENDS}


def _assert_resampled_equal(actual, desired):
    """Equal up to one unit: bands upsampled from a coarser asset round differently in another window."""
    np.testing.assert_allclose(actual.astype(float), desired.astype(float), rtol=0, atol=1)


def _frame_channels(dset, gid):
    img = dset.imgs[gid]
    assets = img.get('auxiliary', img.get('assets', []))
    return [name for asset in assets for name in FusedChannelSpec.coerce(asset['channels']).as_list()]


def _union_channels(dset, gids=None):
    """Bands of the frames ``gids`` (default all) in first-seen order: what ``'<all>'`` gives a video."""
    gids = sorted(dset.imgs) if gids is None else gids
    return list(dict.fromkeys(name for gid in gids for name in _frame_channels(dset, gid)))


def test_generated_assets_needed_repair(multisensor):
    dset, repaired = multisensor
    assert repaired, ('kwcoco now writes the multi-band assets of vidshapes1-msi-multisensor with their '
                      'bands: drop _repair_multiband_assets from this module')
    for gid, channels, (count, height, width) in repaired:
        assert count == 1 and width == FusedChannelSpec.coerce(channels).numel(), (gid, channels, count, width)
    for _, asset, fpath in _asset_paths(dset):
        with rasterio.open(fpath) as src:
            assert (src.count, src.height, src.width) == (
                FusedChannelSpec.coerce(asset['channels']).numel(), asset['height'], asset['width'])


def _gid_of(dset, sensor):
    return next(gid for gid in sorted(dset.imgs) if dset.imgs[gid]['sensor'] == sensor)


def test_sensors_differ(multisensor):
    """The dataset exercises what these tests claim: four sensors, some bands in one sensor only."""
    dset = multisensor[0]
    assert sorted(dset.imgs[gid]['sensor'] for gid in dset.imgs) == ['sensor1', 'sensor2', 'sensor3', 'sensor4']
    assert [dset.imgs[gid]['frame_index'] for gid in sorted(dset.imgs)] == [0, 1, 2, 3]
    sensor1 = set(_frame_channels(dset, _gid_of(dset, 'sensor1')))
    sensor2 = set(_frame_channels(dset, _gid_of(dset, 'sensor2')))
    assert sensor1 - sensor2 and sensor2 - sensor1 and sensor1 & sensor2


@pytest.mark.parametrize('backend', BACKENDS)
def test_image_targets_all_channels(samplers, multisensor, backend):
    dset, sampler = multisensor[0], samplers[backend]
    for gid in sorted(dset.imgs):
        names = _frame_channels(dset, gid)
        sample = sampler.load_sample({'gid': gid, 'slices': WINDOW, 'channels': '<all>'})
        im = sample['im']
        assert im.shape == (64, 70, len(names))
        whole = sampler.load_sample({'gid': gid, 'channels': '<all>'}, with_annots=False)['im']
        assert whole.shape == (600, 600, len(names))
        _assert_resampled_equal(im[:, 6:], whole[10:74, 0:64])
        assert (im[:, :6] == 0).all()  # padding


@pytest.mark.parametrize('backend', BACKENDS)
def test_per_sensor_channel_specs(samplers, multisensor, backend):
    dset, sampler = multisensor[0], samplers[backend]
    spec = SensorChanSpec.coerce('sensor1:B8a|B1|B11,sensor2:B8|r|gauss,sensor3:flowy|B10|r,sensor4:Y.3|B11')
    for gid in sorted(dset.imgs):
        names = _frame_channels(dset, gid)
        chans = spec.matching_sensor(dset.imgs[gid]['sensor']).spec
        wanted = FusedChannelSpec.coerce(chans).as_list()
        assert set(wanted) <= set(names)
        im = sampler.load_sample({'gid': gid, 'slices': WINDOW, 'channels': chans})['im']
        full = sampler.load_sample({'gid': gid, 'slices': WINDOW, 'channels': '<all>'})['im']
        assert im.shape == (64, 70, len(wanted))
        _assert_resampled_equal(im, full[..., [names.index(n) for n in wanted]])


@pytest.mark.parametrize('backend', BACKENDS)
def test_video_targets_missing_bands_are_nan(samplers, multisensor, backend):
    dset, sampler = multisensor[0], samplers[backend]
    union = _union_channels(dset)
    gids = sorted(dset.imgs)
    sample = sampler.load_sample({'vidid': 1, 'time_slice': slice(0, 4), 'space_slice': WINDOW, 'channels': '<all>'})
    im = sample['im']
    assert im.shape == (4, 64, 70, len(union))
    assert len(sample['annots']['frame_dets']) == 4
    for t, gid in enumerate(gids):
        names = _frame_channels(dset, gid)
        inside = im[t, :, 6:]
        for c, name in enumerate(union):
            assert np.isnan(inside[..., c]).all() != (name in names), (gid, name)
        image_im = sampler.load_sample({'gid': gid, 'slices': WINDOW, 'channels': '<all>'})['im']
        _assert_resampled_equal(inside[..., [union.index(n) for n in names]], image_im[:, 6:])
    # a time slice of one sensor1 frame: its B1 is there, r (sensor2 and sensor3) is NaN
    t = gids.index(_gid_of(dset, 'sensor1'))
    one = sampler.load_sample({'vidid': 1, 'time_slice': slice(t, t + 1), 'space_slice': WINDOW, 'channels': 'B1|r'})
    assert one['im'].shape == (1, 64, 70, 2)
    assert not np.isnan(one['im'][0, :, 6:, 0]).any() and np.isnan(one['im'][0, :, 6:, 1]).all()


@pytest.mark.parametrize('backend', BACKENDS)
def test_missing_channel_of_an_image_is_nan(samplers, multisensor, backend):
    dset, sampler = multisensor[0], samplers[backend]
    im = sampler.load_sample({'gid': _gid_of(dset, 'sensor2'), 'slices': WINDOW, 'channels': 'B1|disparity'})['im']
    assert im.shape == (64, 70, 2)
    assert np.isnan(im[:, 6:, 0]).all() and not np.isnan(im[:, 6:, 1]).any()
    assert (im[:, :6] == 0).all()  # padding past the border stays 0 without ``nodata``


@pytest.mark.parametrize('backend', BACKENDS)
def test_video_grid_loads_every_window(samplers, multisensor, backend):
    dset, sampler = multisensor[0], samplers[backend]
    grid = sampler.new_sample_grid('video_detection', (2, 300, 300))
    assert len(grid['targets']) == 8  # 2 time windows x 2 x 2 space windows
    assert sorted((tr['time_slice'].start, tr['space_slice'][0].start, tr['space_slice'][1].start)
                  for tr in grid['targets']) == [(t, y, x) for t in (0, 2) for y in (0, 300) for x in (0, 300)]
    for target in grid['targets']:
        sample = sampler.load_sample({**target, 'channels': '<all>'})
        assert sample['im'].shape == (2, 300, 300, len(_union_channels(dset, target['gids'])))
        assert len(sample['annots']['frame_dets']) == 2


@pytest.mark.parametrize('backend', BACKENDS)
def test_native_scale_shapes(samplers, multisensor, backend):
    dset, sampler = multisensor[0], samplers[backend]
    window = (slice(60, 120), slice(120, 240))
    # sensor1's assets are scaled by 1, 3 or 6: each part is the window at that resolution
    gid1 = _gid_of(dset, 'sensor1')
    sample = sampler.load_sample({'gid': gid1, 'slices': window, 'channels': '<all>', 'use_native_scale': True})
    assets = dset.imgs[gid1]['auxiliary']
    scales = [asset['warp_aux_to_img'].get('scale', 1.0) for asset in assets]
    assert sorted(set(scales)) == [1.0, 3.0, 6.0]
    assert [part.shape for part in sample['im']] == [(int(60 // s), int(120 // s), 1) for s in scales]
    for scale, warp in zip(scales, sample['params']['native_warps']):
        np.testing.assert_allclose(np.asarray(warp.matrix), np.diag([scale, scale, 1.0]), atol=1e-9)
    # rotated and sheared assets of the other sensors: one part per asset with its bands
    per_image = {gid1: sample['im']}
    for gid in sorted(set(dset.imgs) - {gid1}):
        parts = sampler.load_sample({'gid': gid, 'slices': window, 'channels': '<all>', 'use_native_scale': True})['im']
        assert [part.shape[2] for part in parts] == [
            FusedChannelSpec.coerce(asset['channels']).numel() for asset in dset.imgs[gid]['auxiliary']]
        per_image[gid] = parts
    # video targets: one list of parts per frame, in the order of the union of the bands; the
    # bands a frame lacks are all-NaN parts at the window's resolution
    video = sampler.load_sample({'vidid': 1, 'space_slice': window, 'use_native_scale': True})
    assert len(video['im']) == 4 and len(video['params']['native_warps']) == 4
    union = _union_channels(dset)
    for parts, warps, gid in zip(video['im'], video['params']['native_warps'], sorted(dset.imgs)):
        assert len(warps) == len(parts) and sum(p.shape[2] for p in parts) == len(union)
        missing = [p for p in parts if np.isnan(p).all()]
        assert all(p.shape[:2] == (60, 120) for p in missing)
        assert sum(p.shape[2] for p in missing) == len(union) - len(_frame_channels(dset, gid))
        image_shapes = {p.shape[:2] for p in per_image[gid]}
        assert {p.shape[:2] for p in parts if not np.isnan(p).all()} == image_shapes


def _pixels_of_every_kind(sampler):
    window = (slice(60, 120), slice(120, 240))
    for gid in sorted(sampler.dset.imgs):
        yield sampler.load_sample({'gid': gid, 'slices': WINDOW, 'channels': '<all>'})['im']
        yield from sampler.load_sample({'gid': gid, 'slices': window, 'use_native_scale': True})['im']
    yield sampler.load_sample({'vidid': 1, 'space_slice': WINDOW, 'channels': '<all>'})['im']
    yield sampler.load_sample({'vidid': 1, 'space_slice': window, 'channels': 'B8|r|Y.4', 'scale': 0.5})['im']


def test_backends_give_equal_pixels(samplers):
    reference = list(_pixels_of_every_kind(samplers[None]))
    for backend in ('npy', 'cog'):
        got = list(_pixels_of_every_kind(samplers[backend]))
        assert len(got) == len(reference)
        for ref, arr in zip(reference, got):
            assert arr.shape == ref.shape and arr.dtype == ref.dtype, backend
            np.testing.assert_array_equal(arr, ref, err_msg=str(backend))
