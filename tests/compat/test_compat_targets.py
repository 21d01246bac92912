"""Targets as 0.8.1 clients write them: their own keys, foreign channel specs, keyword options, gids of an image."""
import delayed_image
import kwcoco
import kwimage
import numpy as np
import pytest

from ndsampler.channels import ChannelSpec, FusedChannelSpec
from ndsampler.errors import InvalidOptionError, TargetError
from ndsampler.sampler import TARGET_KEYS, CocoSampler

#: Keys kwcoco-dataloader 0.1.2's KWCocoVideoDataset puts in the targets it hands to load_sample.
CLIENT_KEYS = {
    'main_gid': 1, 'allow_augment': True, 'requested_index': 4, 'resolved_index': 4, 'main_skip_reason': None,
    'fliprot_params': {'rot_k': 1, 'flip_axis': None}, 'dist_weights': False, 'input_space_scale': 'native',
    'output_space_scale': 0.5,
}
WINDOW = (slice(2, 12), slice(3, 17))


@pytest.fixture(scope='module')
def dset(tmp_path_factory):
    """Two 24x32 images without a video; each has a 'red|green' asset and a 'nir' asset, and one box."""
    root = tmp_path_factory.mktemp('compat_targets')
    rng = np.random.default_rng(3)
    dset = kwcoco.CocoDataset()
    dset.add_category('thing')
    for index in range(2):
        assets = []
        for chans, bands in [('red|green', 2), ('nir', 1)]:
            fpath = root / f'img{index}_{bands}.tif'
            kwimage.imwrite(fpath, rng.integers(0, 255, (24, 32, bands), dtype=np.uint8))
            assets.append({'file_name': str(fpath), 'channels': chans, 'width': 32, 'height': 24})
        gid = dset.add_image(name=f'img{index}', width=32, height=24, auxiliary=assets)
        dset.add_annotation(gid, category_id=1, bbox=[4.0, 5.0, 6.0, 3.0])
    return dset


@pytest.fixture(scope='module')
def sampler(dset):
    return CocoSampler(dset)


def test_client_keys_are_kept_in_the_target_and_ignored(sampler):
    plain = sampler.load_sample({'gid': 1, 'slices': WINDOW})
    target = {'gid': 1, 'slices': WINDOW, **CLIENT_KEYS}
    sample = sampler.load_sample(target, legacy_annots=False, my_flag=3)
    np.testing.assert_array_equal(sample['im'], plain['im'])
    assert sample['annots']['aids'].tolist() == plain['annots']['aids'].tolist()
    for key, value in CLIENT_KEYS.items():
        assert sample['target'][key] == value
    assert sample['target']['my_flag'] == 3 and sample['target']['legacy_annots'] is False
    assert 'my_flag' not in target  # the caller's dict is not modified


def test_known_keys_are_still_validated_beside_client_keys(sampler):
    with pytest.raises(InvalidOptionError, match='bicubic'):
        sampler.load_sample({'gid': 1, 'main_gid': 1, 'interpolation': 'bicubic'})
    with pytest.raises(TargetError, match='image_id'):
        sampler.load_sample({'gid': 1, 'image_id': 2, 'allow_augment': False})


def test_strict_targets_reject_unknown_keys_and_list_the_known_ones(dset):
    strict = CocoSampler(dset, strict_targets=True)
    for target, kwargs in [({'gid': 1, 'main_gid': 1}, {}), ({'gid': 1}, {'main_gid': 1})]:
        with pytest.raises(TargetError) as info:
            strict.load_sample(target, **kwargs)
        message = str(info.value)
        assert "'main_gid'" in message and 'allowed' in message
        assert all(key in message for key in ('space_slice', 'channels', 'padkw', 'legacy_target'))
    with pytest.raises(TargetError, match='main_gid'):
        strict.load_target_annots({'gid': 1, 'main_gid': 1})
    # ndsampler 0.8's own options without an effect here are known keys
    sample = strict.load_sample({'gid': 1, 'slices': WINDOW, 'legacy_target': False, 'verbose_ndsample': False,
                                 'legacy_annots': True})
    assert sample['im'].shape == (10, 14, 3)
    assert isinstance(TARGET_KEYS, frozenset) and {'legacy_target', 'padkw', 'gids'} <= TARGET_KEYS


@pytest.mark.parametrize('spec', [
    kwcoco.FusedChannelSpec.coerce('nir|red'),
    kwcoco.ChannelSpec.coerce('nir,red'),
    delayed_image.channel_spec.FusedChannelSpec.coerce('nir|red'),
    delayed_image.channel_spec.ChannelSpec.coerce('nir,red'),
    FusedChannelSpec.coerce('nir|red'),
    ChannelSpec.coerce('nir,red'),
], ids=lambda spec: f'{type(spec).__module__}.{type(spec).__name__}')
def test_channel_spec_objects_of_kwcoco_and_delayed_image(sampler, spec):
    expect = sampler.load_sample({'gid': 1, 'slices': WINDOW, 'channels': 'nir|red'}, with_annots=False)['im']
    sample = sampler.load_sample({'gid': 1, 'slices': WINDOW, 'channels': spec}, with_annots=False)
    assert expect.shape == (10, 14, 2)
    np.testing.assert_array_equal(sample['im'], expect)
    video = sampler.load_sample({'gids': [1], 'slices': WINDOW, 'channels': spec}, with_annots=False)['im']
    np.testing.assert_array_equal(video, expect[None])


def test_padkw_keyword_without_mode_and_with_annots_none(sampler):
    outside = (slice(-3, 5), slice(0, 6))
    target = {'gid': 1, 'slices': outside, 'channels': 'nir'}
    sample = sampler.load_sample(target, with_annots=None, padkw={'constant_values': 7})
    assert 'annots' not in sample
    assert (sample['im'][:3] == 7).all()
    assert sample['target']['padkw'] == {'constant_values': 7, 'mode': 'constant'}
    inside = sampler.load_sample({'gid': 1, 'slices': (slice(0, 5), slice(0, 6)), 'channels': 'nir'})['im']
    np.testing.assert_array_equal(sample['im'][3:], inside)
    # the keyword wins over the target's own padkw, as in ndsampler 0.8
    edge = sampler.load_sample({**target, 'padkw': {'constant_values': 1}}, padkw={'mode': 'edge'})['im']
    np.testing.assert_array_equal(edge[:3], np.repeat(inside[:1], 3, axis=0))


def test_gids_of_an_image_without_a_video_sample_its_space(sampler):
    image = sampler.load_sample({'gid': 2, 'slices': WINDOW})
    for key in ('gids', 'image_ids'):
        sample = sampler.load_sample({key: [2], 'slices': WINDOW})
        assert sample['im'].shape == (1, 10, 14, 3)
        np.testing.assert_array_equal(sample['im'][0], image['im'])
        tr = sample['target']
        assert tr['vidid'] is None and tr['gids'] == [2] and tr['time_slice'] == slice(0, 1)
        assert tr['data_dims'] == (1, 24, 32) and tr['space_dims'] == (24, 32)
        (dets,) = sample['annots']['frame_dets']
        np.testing.assert_allclose(dets.boxes.to_ltrb().data, image['annots']['frame_dets'][0].boxes.to_ltrb().data)
    # time padding: frames outside the one-image "video" are padding
    padded = sampler.load_sample({'gids': [2], 'slices': WINDOW, 'pad': (1, 0, 0)}, with_annots=False)
    assert padded['im'].shape == (3, 10, 14, 3) and padded['target']['frame_gids'] == [None, 2, None]
    assert (padded['im'][0] == 0).all() and (padded['im'][2] == 0).all()
    again = sampler.load_sample(padded['target'], with_annots=False)  # a resolved target resolves to itself
    np.testing.assert_array_equal(again['im'], padded['im'])
    with pytest.raises(TargetError, match='one image without a video'):
        sampler.load_sample({'gids': [1, 2]})


def test_every_keyword_argument_is_a_target_key(sampler):
    # 0.8.1 reads only pad / padkw / dtype / nodata from the keywords and drops the rest
    # (its toydata's load_positive(window_dims=...) has no effect); here every keyword is a target key
    sample = sampler.load_sample({'gid': 1}, slices=WINDOW, channels='nir', with_annots=False)
    assert sample['im'].shape == (10, 14, 1)
    sampler.preselect(window_dims=(5, 5))
    assert sampler.load_positive(0, window_dims=(3, 4), with_annots=False)['im'].shape == (3, 4, 3)


def test_whole_valued_float_slice_bounds_are_ints(sampler):
    """Clients compute windows in floats (kwcoco-dataloader sends ``slice(-200.0, 350)``); whole values are ints."""
    want = sampler.load_sample({'gid': 1, 'space_slice': (slice(-3, 12), slice(3, 17))})
    for sl in [(slice(-3.0, 12.0), slice(3.0, 17)), (slice(np.float32(-3), np.int64(12)), slice(3, 17.0))]:
        got = sampler.load_sample({'gid': 1, 'space_slice': sl})
        assert got['target']['space_slice'] == (slice(-3, 12), slice(3, 17))
        assert all(type(b) is int for s in got['target']['space_slice'] for b in (s.start, s.stop))
        np.testing.assert_array_equal(got['im'], want['im'])
    video = sampler.load_sample({'gids': [1], 'space_slice': (slice(-3.0, 12.0), slice(3.0, 17.0))})
    np.testing.assert_array_equal(video['im'][0], want['im'])
    for bad in [(slice(2.5, 12), slice(3, 17)), (slice(float('nan'), 12), slice(3, 17)), (slice(True, 12), slice(3, 17))]:
        with pytest.raises(InvalidOptionError, match='whole-number'):
            sampler.load_sample({'gid': 1, 'space_slice': bad})
