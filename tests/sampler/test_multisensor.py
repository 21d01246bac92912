"""CocoSampler over kwcoco's 'vidshapes1-msi-multisensor': frames of four sensors with different bands.

The ``multisensor`` fixture (``sampler_data.make_multisensor_dset``) is the demo as kwcoco writes it:
its 2-band assets are TIFF page stacks (one page per row), read as (H, W, 2) images.
"""
import numpy as np
import pytest
from sampler_data import MULTISENSOR_BACKENDS as BACKENDS, frame_channels, gid_of, union_channels

from ndsampler.channels import FusedChannelSpec, SensorChanSpec

WINDOW = (slice(10, 74), slice(-6, 64))  # 64 x 70, past the left border


def _assert_resampled_equal(actual, desired):
    """Equal up to one unit: bands upsampled from a coarser asset round differently in another window."""
    np.testing.assert_allclose(actual.astype(float), desired.astype(float), rtol=0, atol=1)


def test_sensors_differ(multisensor):
    """The dataset exercises what these tests claim: four sensors, some bands in one sensor only."""
    dset = multisensor
    assert sorted(dset.imgs[gid]['sensor'] for gid in dset.imgs) == ['sensor1', 'sensor2', 'sensor3', 'sensor4']
    assert [dset.imgs[gid]['frame_index'] for gid in sorted(dset.imgs)] == [0, 1, 2, 3]
    sensor1 = set(frame_channels(dset, gid_of(dset, 'sensor1')))
    sensor2 = set(frame_channels(dset, gid_of(dset, 'sensor2')))
    assert sensor1 - sensor2 and sensor2 - sensor1 and sensor1 & sensor2


@pytest.mark.parametrize('backend', BACKENDS)
def test_image_targets_all_channels(multisensor_samplers, multisensor, backend):
    dset, sampler = multisensor, multisensor_samplers[backend]
    for gid in sorted(dset.imgs):
        names = frame_channels(dset, gid)
        sample = sampler.load_sample({'gid': gid, 'slices': WINDOW, 'channels': '<all>'})
        im = sample['im']
        assert im.shape == (64, 70, len(names))
        whole = sampler.load_sample({'gid': gid, 'channels': '<all>'}, with_annots=False)['im']
        assert whole.shape == (600, 600, len(names))
        _assert_resampled_equal(im[:, 6:], whole[10:74, 0:64])
        assert (im[:, :6] == 0).all()  # padding


@pytest.mark.parametrize('backend', BACKENDS)
def test_per_sensor_channel_specs(multisensor_samplers, multisensor, backend):
    dset, sampler = multisensor, multisensor_samplers[backend]
    spec = SensorChanSpec.coerce('sensor1:B8a|B1|B11,sensor2:B8|r|gauss,sensor3:flowy|B10|r,sensor4:Y.3|B11')
    for gid in sorted(dset.imgs):
        names = frame_channels(dset, gid)
        chans = spec.matching_sensor(dset.imgs[gid]['sensor']).spec
        wanted = FusedChannelSpec.coerce(chans).as_list()
        assert set(wanted) <= set(names)
        im = sampler.load_sample({'gid': gid, 'slices': WINDOW, 'channels': chans})['im']
        full = sampler.load_sample({'gid': gid, 'slices': WINDOW, 'channels': '<all>'})['im']
        assert im.shape == (64, 70, len(wanted))
        _assert_resampled_equal(im, full[..., [names.index(n) for n in wanted]])


@pytest.mark.parametrize('backend', BACKENDS)
def test_video_targets_missing_bands_are_nan(multisensor_samplers, multisensor, backend):
    dset, sampler = multisensor, multisensor_samplers[backend]
    union = union_channels(dset)
    gids = sorted(dset.imgs)
    sample = sampler.load_sample({'vidid': 1, 'time_slice': slice(0, 4), 'space_slice': WINDOW, 'channels': '<all>'})
    im = sample['im']
    assert im.shape == (4, 64, 70, len(union))
    assert len(sample['annots']['frame_dets']) == 4
    for t, gid in enumerate(gids):
        names = frame_channels(dset, gid)
        inside = im[t, :, 6:]
        for c, name in enumerate(union):
            assert np.isnan(inside[..., c]).all() != (name in names), (gid, name)
        image_im = sampler.load_sample({'gid': gid, 'slices': WINDOW, 'channels': '<all>'})['im']
        _assert_resampled_equal(inside[..., [union.index(n) for n in names]], image_im[:, 6:])
    # a time slice of one sensor1 frame: its B1 is there, r (sensor2 and sensor3) is NaN
    t = gids.index(gid_of(dset, 'sensor1'))
    one = sampler.load_sample({'vidid': 1, 'time_slice': slice(t, t + 1), 'space_slice': WINDOW, 'channels': 'B1|r'})
    assert one['im'].shape == (1, 64, 70, 2)
    assert not np.isnan(one['im'][0, :, 6:, 0]).any() and np.isnan(one['im'][0, :, 6:, 1]).all()


@pytest.mark.parametrize('backend', BACKENDS)
def test_missing_channel_of_an_image_is_nan(multisensor_samplers, multisensor, backend):
    dset, sampler = multisensor, multisensor_samplers[backend]
    im = sampler.load_sample({'gid': gid_of(dset, 'sensor2'), 'slices': WINDOW, 'channels': 'B1|disparity'})['im']
    assert im.shape == (64, 70, 2)
    assert np.isnan(im[:, 6:, 0]).all() and not np.isnan(im[:, 6:, 1]).any()
    assert (im[:, :6] == 0).all()  # padding past the border stays 0 without ``nodata``


@pytest.mark.parametrize('backend', BACKENDS)
def test_video_grid_loads_every_window(multisensor_samplers, multisensor, backend):
    dset, sampler = multisensor, multisensor_samplers[backend]
    grid = sampler.new_sample_grid('video_detection', (2, 300, 300))
    assert len(grid['targets']) == 8  # 2 time windows x 2 x 2 space windows
    assert sorted((tr['time_slice'].start, tr['space_slice'][0].start, tr['space_slice'][1].start)
                  for tr in grid['targets']) == [(t, y, x) for t in (0, 2) for y in (0, 300) for x in (0, 300)]
    for target in grid['targets']:
        sample = sampler.load_sample({**target, 'channels': '<all>'})
        assert sample['im'].shape == (2, 300, 300, len(union_channels(dset, target['gids'])))
        assert len(sample['annots']['frame_dets']) == 2


@pytest.mark.parametrize('backend', BACKENDS)
def test_native_scale_shapes(multisensor_samplers, multisensor, backend):
    dset, sampler = multisensor, multisensor_samplers[backend]
    window = (slice(60, 120), slice(120, 240))
    # sensor1's assets are scaled by 1, 3 or 6: each part is the window at that resolution
    gid1 = gid_of(dset, 'sensor1')
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
    # bands a frame lacks are all-NaN parts of 1x1 pixels stretched over the window (0.8 squashes them)
    video = sampler.load_sample({'vidid': 1, 'space_slice': window, 'use_native_scale': True})
    assert len(video['im']) == 4 and len(video['params']['native_warps']) == 4
    union = union_channels(dset)
    for parts, warps, gid in zip(video['im'], video['params']['native_warps'], sorted(dset.imgs)):
        assert len(warps) == len(parts) and sum(p.shape[2] for p in parts) == len(union)
        missing = [(p, w) for p, w in zip(parts, warps) if np.isnan(p).all()]
        assert all(p.shape[:2] == (1, 1) and np.allclose(w.matrix, np.diag([120, 60, 1])) for p, w in missing)
        missing = [p for p, _ in missing]
        assert sum(p.shape[2] for p in missing) == len(union) - len(frame_channels(dset, gid))
        image_shapes = {p.shape[:2] for p in per_image[gid]}
        assert {p.shape[:2] for p in parts if not np.isnan(p).all()} == image_shapes


def _pixels_of_every_kind(sampler):
    window = (slice(60, 120), slice(120, 240))
    for gid in sorted(sampler.dset.imgs):
        yield sampler.load_sample({'gid': gid, 'slices': WINDOW, 'channels': '<all>'})['im']
        yield from sampler.load_sample({'gid': gid, 'slices': window, 'use_native_scale': True})['im']
    yield sampler.load_sample({'vidid': 1, 'space_slice': WINDOW, 'channels': '<all>'})['im']
    yield sampler.load_sample({'vidid': 1, 'space_slice': window, 'channels': 'B8|r|Y.4', 'scale': 0.5})['im']


def test_backends_give_equal_pixels(multisensor_samplers):
    reference = list(_pixels_of_every_kind(multisensor_samplers[None]))
    for backend in ('npy', 'cog'):
        got = list(_pixels_of_every_kind(multisensor_samplers[backend]))
        assert len(got) == len(reference)
        for ref, arr in zip(reference, got):
            assert arr.shape == ref.shape and arr.dtype == ref.dtype, backend
            np.testing.assert_array_equal(arr, ref, err_msg=str(backend))
