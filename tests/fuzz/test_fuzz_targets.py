"""Careless targets and load options: only ndsampler errors escape, valid ones give the exact shape, nothing hangs."""
import math
import time

import kwcoco
import numpy as np
import pytest
from hypothesis import given, strategies as st

from fuzz_settings import CALL_LIMIT_S, FUZZ
from ndsampler import CocoSampler
from ndsampler.errors import NdsamplerError

B = {'gid': 1, 'cx': 100, 'cy': 100, 'width': 64, 'height': 64}
#: The samplers' size guard here: fuzzed sizes stay cheap (the guard itself is what refuses the rest).
MAX_BYTES = 64 * 1024 ** 2

junk = st.one_of(st.none(), st.booleans(), st.integers(-10 ** 12, 10 ** 12), st.floats(allow_nan=True),
                 st.text(max_size=4), st.binary(max_size=2), st.lists(st.integers(-3, 3), max_size=3),
                 st.tuples(st.floats(-5, 5), st.floats(-5, 5)), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))


def maybe_bad(valid):
    """Mostly ``valid`` values, one in four careless."""
    return st.integers(0, 3).flatmap(lambda k: junk if k == 0 else valid)


option_values = {
    'gid': maybe_bad(st.integers(-2, 10)), 'aid': maybe_bad(st.integers(-1, 80)),
    'cx': maybe_bad(st.floats(-100, 700)), 'cy': maybe_bad(st.floats(-100, 700)),
    'width': maybe_bad(st.integers(0, 300)), 'height': maybe_bad(st.integers(0, 300)),
    'pad': maybe_bad(st.one_of(st.integers(0, 20), st.tuples(st.integers(0, 5), st.integers(0, 5)))),
    'scale': maybe_bad(st.floats(0.05, 3)), 'dsize': maybe_bad(st.tuples(st.integers(0, 90), st.integers(0, 90))),
    'dtype': maybe_bad(st.sampled_from(['uint8', 'float32', 'int16', 'complex64', 'U3', 'O'])),
    'nodata': maybe_bad(st.sampled_from(['float', 'auto', 0, 'bogus'])),
    'interpolation': maybe_bad(st.sampled_from(['nearest', 'linear', 'cubic', 'auto', 'bogus'])),
    'antialias': maybe_bad(st.sampled_from([True, False, 'auto'])),
    'padkw': maybe_bad(st.sampled_from([{'mode': 'reflect'}, {'mode': 'edge'}, {'mode': 'constant', 'constant_values': 3},
                                        {'mode': 'bogus'}, 'reflect'])),
    'channels': maybe_bad(st.sampled_from(['r|g', 'b', 'r|g|b', 'nope', 'r||g'])),
    'window_dims': maybe_bad(st.sampled_from(['extent', 'square', (20, 30)])),
    'space_slice': maybe_bad(st.tuples(st.builds(slice, st.integers(-50, 300), st.integers(-50, 300)))),
    'finalize': maybe_bad(st.booleans()), 'use_native_scale': maybe_bad(st.booleans()),
    'my_own_key': junk,
}
targets = st.fixed_dictionaries({}, optional=option_values)
load_args = st.fixed_dictionaries({}, optional={
    'with_annots': maybe_bad(st.sampled_from([True, False, 'boxes+mask', ['segmentation'], 'bogus'])),
    'visible_thresh': maybe_bad(st.floats(0, 1)),
    'annot_ids': maybe_bad(st.lists(st.integers(1, 80), max_size=3)),
})


@pytest.fixture(scope='module')
def sampler(tmp_path_factory):
    root = tmp_path_factory.mktemp('fuzz_targets')
    sampler = CocoSampler(kwcoco.CocoDataset.demo('shapes8', dpath=root, verbose=0), workdir=root / 'work', backend=None)
    sampler.max_sample_bytes = MAX_BYTES
    return sampler


def _load(sampler, target, kwargs):
    start = time.perf_counter()
    try:
        return sampler.load_sample(target, **kwargs)
    except NdsamplerError:
        return None
    finally:
        assert time.perf_counter() - start < CALL_LIMIT_S


@FUZZ
@given(extra=targets, kwargs=load_args)
def test_fuzzed_targets_raise_only_our_errors(sampler, extra, kwargs):
    sample = _load(sampler, {**B, **extra}, kwargs)
    if sample is None or not isinstance(sample['im'], np.ndarray):
        return
    assert sample['im'].ndim == 3 and sample['im'].nbytes <= MAX_BYTES
    assert sample['im'].shape[:2] == tuple(sample['params']['out_hw'])


@FUZZ
@given(cx=st.integers(-80, 600), cy=st.integers(-80, 600), w=st.integers(0, 200), h=st.integers(0, 200),
       pad=st.integers(0, 8), scale=st.one_of(st.none(), st.sampled_from([0.5, 1.5, 2.0])))
def test_valid_centre_targets_have_the_exact_shape(sampler, cx, cy, w, h, pad, scale):
    target = {'gid': 2, 'cx': cx, 'cy': cy, 'width': w, 'height': h, 'pad': pad, 'scale': scale}
    try:
        im = sampler.load_sample(target)['im']
    except NdsamplerError as ex:  # only a scale that rounds a non-empty side to nothing
        assert scale == 0.5 and 'at least one pixel' in str(ex)
        return
    factor = 1 if scale is None else scale
    assert im.shape == (int(round((h + 2 * pad) * factor)), int(round((w + 2 * pad) * factor)), 3)
    assert math.isfinite(float(im.sum()))


video_values = {
    'vidid': maybe_bad(st.integers(0, 3)), 'gids': maybe_bad(st.lists(st.integers(0, 8), max_size=4)),
    'time_slice': maybe_bad(st.builds(slice, st.integers(-3, 6), st.integers(-3, 6))),
    'pad': maybe_bad(st.one_of(st.integers(0, 3), st.tuples(st.integers(0, 2), st.integers(0, 4), st.integers(0, 4)))),
    'space_slice': option_values['space_slice'], 'scale': option_values['scale'], 'channels': option_values['channels'],
    'nodata': option_values['nodata'], 'use_native_scale': option_values['use_native_scale'],
}


@pytest.fixture(scope='module')
def video_sampler(tmp_path_factory):
    root = tmp_path_factory.mktemp('fuzz_video')
    dset = kwcoco.CocoDataset.demo('vidshapes2', num_frames=3, dpath=root, verbose=0)
    sampler = CocoSampler(dset, workdir=root / 'work', backend=None)
    sampler.max_sample_bytes = MAX_BYTES
    return sampler


@FUZZ
@given(extra=st.fixed_dictionaries({}, optional=video_values), kwargs=load_args)
def test_fuzzed_video_targets_raise_only_our_errors(video_sampler, extra, kwargs):
    sample = _load(video_sampler, {'vidid': 1, **extra}, kwargs)
    if sample is None or not isinstance(sample['im'], np.ndarray):
        return
    assert sample['im'].ndim == 4 and sample['im'].shape[0] == len(sample['target']['frame_gids'])
    assert sample['im'].nbytes <= MAX_BYTES
    assert sample['im'].shape[1:3] == tuple(sample['params']['out_hw'])
