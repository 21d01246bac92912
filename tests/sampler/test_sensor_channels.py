"""Sensor specs (``'sensor1:B1|B8,sensor2:r'``) as the ``channels`` of a sample: resolved per frame by its sensor."""
import numpy as np
import pytest
from sampler_data import MULTISENSOR_BACKENDS, frame_channels, gid_of

from ndsampler.channels import FusedChannelSpec, SensorChanSpec
from ndsampler.errors import ChannelSpecError

WINDOW = (slice(10, 74), slice(-6, 64))  # 64 x 70, past the left border
SPEC = 'sensor1:B8a|B1|B11,sensor2:B8|r|gauss,sensor3:flowy|B10|r,sensor4:Y.3|B11'


def _plain(sampler, target, chans):
    return sampler.load_sample({**target, 'channels': chans}, with_annots=False)['im']


@pytest.mark.parametrize('backend', MULTISENSOR_BACKENDS)
def test_image_targets_take_the_streams_of_their_sensor(multisensor_samplers, multisensor, backend):
    dset, sampler = multisensor, multisensor_samplers[backend]
    spec = SensorChanSpec.coerce(SPEC)
    for gid in sorted(dset.imgs):
        target = {'gid': gid, 'slices': WINDOW}
        chans = spec.matching_sensor(dset.imgs[gid]['sensor']).spec
        assert set(FusedChannelSpec.coerce(chans).as_list()) <= set(frame_channels(dset, gid))
        im = sampler.load_sample({**target, 'channels': SPEC}, with_annots=False)['im']
        assert im.shape == (64, 70, FusedChannelSpec.coerce(chans).numel())
        np.testing.assert_array_equal(im, _plain(sampler, target, chans))
        # the spec object; unprefixed streams apply to every sensor, a band named twice comes once
        np.testing.assert_array_equal(_plain(sampler, target, spec), im)
        both = _plain(sampler, target, SPEC + ',B11|B1')
        wanted = dict.fromkeys(FusedChannelSpec.coerce(chans).as_list() + ['B11', 'B1'])
        np.testing.assert_array_equal(both, _plain(sampler, target, '|'.join(wanted)))


@pytest.mark.parametrize('backend', MULTISENSOR_BACKENDS)
def test_video_frames_return_the_union_of_the_requested_bands(multisensor_samplers, multisensor, backend):
    dset, sampler = multisensor, multisensor_samplers[backend]
    spec = SensorChanSpec.coerce(SPEC)
    gids = sorted(dset.imgs)
    union = list(dict.fromkeys(name for gid in gids
                               for name in FusedChannelSpec.coerce(
                                   spec.matching_sensor(dset.imgs[gid]['sensor']).spec).as_list()))
    assert len(union) > 3  # the sensors ask for different bands
    video = {'vidid': 1, 'time_slice': slice(0, 4), 'space_slice': WINDOW}
    im = sampler.load_sample({**video, 'channels': SPEC}, with_annots=False)['im']
    assert im.shape == (4, 64, 70, len(union))
    np.testing.assert_array_equal(im, _plain(sampler, video, '|'.join(union)), err_msg='union of the matches')
    for t, gid in enumerate(gids):
        names = frame_channels(dset, gid)
        for c, name in enumerate(union):
            assert np.isnan(im[t, :, 6:, c]).all() != (name in names), (gid, name)
    # a time slice of one frame gets only its own sensor's streams
    t = gids.index(gid_of(dset, 'sensor2'))
    one = sampler.load_sample({**video, 'time_slice': slice(t, t + 1), 'channels': SPEC}, with_annots=False)['im']
    np.testing.assert_array_equal(one, _plain(sampler, {**video, 'time_slice': slice(t, t + 1)}, 'B8|r|gauss'))


def test_a_sensor_spec_matching_no_frame_raises(multisensor_samplers, multisensor):
    dset, sampler = multisensor, multisensor_samplers[None]
    gid = gid_of(dset, 'sensor1')
    with pytest.raises(ChannelSpecError, match=r"sensor2:r.*sensor1"):
        sampler.load_sample({'gid': gid, 'slices': WINDOW, 'channels': 'sensor2:r'})
    # over a video the union (here: r, asked of sensor2) is what every frame returns, NaN where it lacks r
    im = sampler.load_sample({'vidid': 1, 'space_slice': WINDOW, 'channels': 'sensor2:r'}, with_annots=False)['im']
    assert im.shape == (4, 64, 70, 1)
    has_r = [not np.isnan(im[t, :, 6:]).all() for t in range(4)]
    assert has_r == ['r' in frame_channels(dset, gid) for gid in sorted(dset.imgs)] and sum(has_r) >= 2


def test_plain_specs_keep_their_meaning(multisensor_samplers, multisensor):
    dset, sampler = multisensor, multisensor_samplers['npy']
    gid = gid_of(dset, 'sensor1')
    target = {'gid': gid, 'slices': WINDOW}
    full = _plain(sampler, target, '<all>')
    names = frame_channels(dset, gid)
    np.testing.assert_array_equal(_plain(sampler, target, 'B1,B11'), full[..., [names.index('B1'), names.index('B11')]])
    with pytest.raises(ChannelSpecError):
        _plain(sampler, target, 'B1|(')
