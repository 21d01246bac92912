"""Issue 14's table, sampler rows: every bad input is one of our errors naming the value; empty windows are consistent."""
import re
import time

import kwcoco
import numpy as np
import pytest

from ndsampler import CocoSampler
from ndsampler.errors import (IndexOutOfRangeError, InvalidOptionError, NdsamplerError, SampleTooLargeError, TargetError,
                              UnknownIdError, WindowError)

B = {'gid': 1, 'cx': 100, 'cy': 100, 'width': 64, 'height': 64}
NAN, INF = float('nan'), float('inf')


@pytest.fixture(scope='module')
def sampler(shapes8, tmp_path_factory):
    return CocoSampler(shapes8, workdir=tmp_path_factory.mktemp('bad_input'), backend=None)


@pytest.fixture(scope='module')
def video(tmp_path_factory):
    root = tmp_path_factory.mktemp('bad_input_video')
    dset = kwcoco.CocoDataset.demo('vidshapes2', num_frames=3, dpath=root, verbose=0)
    return CocoSampler(dset, workdir=root / 'work', backend=None)


@pytest.mark.parametrize('key, value', [
    ('cx', NAN), ('width', INF), ('width', 'abc'), ('scale', INF), ('dsize', (NAN, 3)), ('pad', NAN),
    ('gid', [1]), ('aid', 'x'), ('gids', 'abc'),
    ('nodata', 'bogus'), ('dtype', 'complex64'), ('dtype', 'U3'), ('antialias', 'bogus'),
    ('use_native_scale', 'bogus'), ('finalize', 'bogus'), ('padkw', 'reflect'),
    ('padkw', {'mode': 'reflect', 'bogus_key': 1}), ('padkw', {'mode': 'constant', 'constant_values': 'x'}),
    ('padkw', {'mode': [1]}), ('padkw', {'mode': 'edge', 'constant_values': 1}),
    ('scale', -1), ('scale', 'x'), ('window_dims', (NAN, 3)), ('slices', (slice(0, 'a'), slice(0, 2))),
    ('interpolation', 3), ('realign_native', 'bogus'), ('pad', 'x'), ('pad', [(1, -1), (0, 0)]),
])
def test_bad_target_value_names_key_and_value(sampler, key, value):
    with pytest.raises(InvalidOptionError) as info:
        sampler.load_sample({**B, key: value})
    assert key.split('_')[0] in str(info.value) and 'allowed' in str(info.value)


@pytest.mark.parametrize('kwargs', [
    {'with_annots': 5}, {'visible_thresh': 'x'}, {'visible_thresh': -0.5}, {'visible_thresh': 1.5},
    {'visible_thresh': NAN},
])
def test_bad_load_sample_argument(sampler, kwargs):
    (name, value), = kwargs.items()
    with pytest.raises(InvalidOptionError, match=f'invalid {name}={value!r}'):
        sampler.load_sample(B, **kwargs)


def test_target_that_is_not_a_dict(sampler):
    with pytest.raises(TargetError, match="target='abc' must be a dict"):
        sampler.load_sample('abc')


def test_unknown_annot_ids(sampler):
    with pytest.raises(UnknownIdError, match='1000000000'):
        sampler.load_sample(B, annot_ids=[10 ** 9])


def test_valid_options_still_work(sampler):
    sample = sampler.load_sample({**B, 'dtype': 'float32', 'nodata': 'float', 'antialias': 'auto', 'pad': (1, 2),  # y: 1, x: 2 per side
                                  'padkw': {'mode': 'constant', 'constant_values': 7}, 'scale': np.float64(0.5)},
                                 visible_thresh=1, with_annots=['boxes'])
    assert sample['im'].shape == (33, 34, 3) and sample['im'].dtype == np.float32
    again = sampler.load_sample(sample['target'])  # a resolved target resolves to the same window
    assert again['im'].shape == sample['im'].shape


@pytest.mark.parametrize('target', [{**B, 'width': 1e9}, {**B, 'pad': 10 ** 9}, {**B, 'dsize': (10 ** 6, 10 ** 6)}])
def test_size_guard_refuses_at_once(sampler, target):
    start = time.perf_counter()
    with pytest.raises(SampleTooLargeError, match='exceeds the limit') as info:
        sampler.load_sample(target)
    assert time.perf_counter() - start < 0.5
    assert isinstance(info.value, MemoryError) and isinstance(info.value, ValueError)


def test_size_guard_on_a_video_pad(video):
    start = time.perf_counter()
    with pytest.raises(SampleTooLargeError):
        video.load_sample({'vidid': 1, 'pad': 10 ** 9})
    assert time.perf_counter() - start < 0.5


def test_size_limit_is_configurable(shapes8, tmp_path):
    small = CocoSampler(shapes8, workdir=tmp_path, backend=None)
    small.max_sample_bytes = 64 * 64 * 3  # B's three uint8 bands
    small.load_sample(B)
    with pytest.raises(SampleTooLargeError, match=r'64x65x3 pixels \(12480 bytes\)'):  # counted with the bands
        small.load_sample({**B, 'width': 65})
    with pytest.raises(SampleTooLargeError, match='at least 16384 bytes'):  # float32 at once, before any frame
        small.load_sample({**B, 'nodata': 'float'})
    assert small.load_sample({**B, 'width': 65, 'channels': 'r|g'})['im'].shape == (64, 65, 2)


@pytest.mark.parametrize('extra', [{}, {'scale': 2}, {'dsize': (0, 20)}])
def test_empty_window_is_an_empty_array_with_or_without_scale(sampler, extra):
    target = {'gid': 1, 'space_slice': (slice(0, 10), slice(5, 5)), **extra}
    im = sampler.load_sample(target)['im']
    want_h = 10 if not extra else 20
    assert im.shape == (want_h, 0, 3) and im.dtype == np.uint8


@pytest.mark.parametrize('target', [{'vidid': 1, 'time_slice': slice(1, 1)}, {'vidid': 1, 'gids': []},
                                    {'vidid': 1, 'time_slice': slice(1, 1), 'scale': 0.5}])
def test_empty_time_range_is_an_empty_array(video, target):
    sample = video.load_sample(target, with_annots='boxes+segmentation+keypoints+mask')
    scale = target.get('scale', 1)
    assert sample['im'].shape == (0, int(600 * scale), int(600 * scale), 3)
    assert len(sample['annots']['aids']) == 0 and sample['annots']['class_masks'].shape[0] == 0


@pytest.mark.parametrize('call', [
    lambda s: s.load_positive(1.0), lambda s: s.load_item('0'), lambda s: s.load_item(True),
    lambda s: s.preselect(n_neg='x'), lambda s: s.preselect(neg_to_pos_ratio=NAN),
    lambda s: s.preselect(n_pos=-1), lambda s: s.new_sample_grid('image_detection', None),
    lambda s: s.new_sample_grid('image_detection', (0, 4)),
])
def test_bad_pool_and_grid_arguments(sampler, call):
    with pytest.raises(InvalidOptionError):
        call(sampler)


def test_integer_like_indexes_still_index(sampler):
    assert sampler.load_positive(np.int64(0))['target'] == sampler.load_positive(0)['target']
    with pytest.raises(IndexOutOfRangeError):
        sampler.load_positive(10 ** 6)


def test_errors_are_ours_and_builtin():
    for cls in (InvalidOptionError, TargetError, SampleTooLargeError):
        assert issubclass(cls, NdsamplerError) and issubclass(cls, ValueError)


def test_empty_scaled_window_as_xarray_has_the_output_shape(sampler):
    im = sampler.load_sample({'gid': 1, 'space_slice': (slice(0, 5), slice(5, 5)), 'scale': 2, 'as_xarray': True})['im']
    assert im.shape == (10, 0, 3) and list(im.coords['c'].values) == ['r', 'g', 'b']


@pytest.mark.parametrize('extra', [{'finalize': False}, {'use_native_scale': True}])
def test_empty_scaled_window_without_finalize_is_one_clear_error(sampler, extra):
    with pytest.raises(WindowError, match='is empty and has no pixels to scale'):
        sampler.load_sample({'gid': 1, 'space_slice': (slice(0, 5), slice(5, 5)), 'scale': 2, **extra})


@pytest.mark.parametrize('call, name', [
    (lambda s: s.new_sample_grid('image_detection', (64, 64), use_centers='x'), 'use_centers'),
    (lambda s: s.new_sample_grid('image_detection', (64, 64), visible_thresh=2), 'visible_thresh'),
    (lambda s: s.regions.get_positive(0, jitter='x'), 'jitter'),
    (lambda s: s.load_sample({**B, 'pad': 2, 'padkw': {'mode': 'constant', 'constant_values': [1, 2, 3]}}),
     "padkw['constant_values']"),
    (lambda s: s.load_sample({**B, 'pad': 2, 'padkw': {'mode': 'mean', 'stat_length': -1}}), "padkw['stat_length']"),
])
def test_more_bad_arguments_name_themselves(sampler, call, name):
    with pytest.raises(InvalidOptionError, match=f'invalid {re.escape(name)}='):
        call(sampler)


def test_video_grid_time_stride(video):
    with pytest.raises(InvalidOptionError, match="invalid time_stride='x'"):
        video.new_sample_grid('video_detection', (2, 64, 64), time_stride='x')
