"""Sample geometry: output sizes, affines, and clear errors for outputs that round to nothing."""
import numpy as np
import pytest

from ndsampler.errors import WindowError
from ndsampler.sampler import CocoSampler
from ndsampler.sampler._index import DatasetIndex
from ndsampler.sampler._params import sample_params
from ndsampler.sampler._target import resolve_target


@pytest.fixture(scope='module')
def index(raster_dset):
    return DatasetIndex(raster_dset)


def _params(index, target):
    return sample_params(resolve_target(target, index), index)


@pytest.mark.parametrize('option', [{'scale': 0.01}, {'scale': (1.0, 0.05)}, {'dsize': (0, 5)}])
def test_output_rounding_to_zero_pixels_is_a_window_error(index, option):
    target = {'gid': 1, 'slices': (slice(0, 10), slice(0, 12)), **option}
    with pytest.raises(WindowError) as info:
        _params(index, target)
    message = str(info.value)
    assert '10x12' in message  # the window
    assert repr(next(iter(option.values()))) in message  # the scale / dsize asked for
    assert 'gives an output of' in message


def test_output_rounding_to_zero_pixels_fails_in_load_sample(raster_dset, tmp_path):
    sampler = CocoSampler(raster_dset, workdir=tmp_path)
    with pytest.raises(WindowError, match=r'scale=\(0.01, 0.01\) gives an output of 0x0'):
        sampler.load_sample({'gid': 1, 'slices': (slice(0, 10), slice(0, 12)), 'scale': 0.01})


def test_empty_window_keeps_the_requested_scale(index):
    params = _params(index, {'gid': 1, 'slices': (slice(3, 3), slice(4, 4)), 'scale': 2.0})
    assert params['out_hw'] == (0, 0)
    assert params['sample_scale'] == (2.0, 2.0)


@pytest.mark.parametrize('option, out_hw, scale', [
    ({}, (10, 12), (1.0, 1.0)),
    ({'scale': 0.5}, (5, 6), (0.5, 0.5)),
    ({'dsize': (24, 5)}, (5, 24), (2.0, 0.5)),
    ({'pad': 2}, (14, 16), (1.0, 1.0)),
])
def test_affines_map_the_window_onto_the_output(index, option, out_hw, scale):
    params = _params(index, {'gid': 1, 'slices': (slice(4, 14), slice(6, 18)), **option})
    assert params['out_hw'] == out_hw
    assert params['sample_scale'] == scale
    (y0, y1), (x0, x1) = params['st_dims']
    corners = np.array([[x0, y0, 1.0], [x1, y1, 1.0]]).T
    rel = params['tf_abs_to_rel'].matrix @ corners
    np.testing.assert_allclose(rel[:2].T, [[0, 0], [out_hw[1], out_hw[0]]], atol=1e-12)
    np.testing.assert_allclose(params['tf_rel_to_abs'].matrix @ params['tf_abs_to_rel'].matrix, np.eye(3), atol=1e-12)
    assert params['sample_tlbr'].data.tolist() == [[x0, y0, x1, y1]]
    assert params['offset'].tolist() == [-x0, -y0]
