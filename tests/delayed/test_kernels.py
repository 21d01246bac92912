"""Tests for the array kernels behind the delayed nodes."""
import itertools
import warnings

import numpy as np
import pytest

from ndsampler.delayed._kernels import Padding, border_fill, pad_constant, pad_window

DTYPES = [np.uint8, np.uint16, np.int16, np.float32, np.float64, bool]
VALUES = [0, -1, 300, float('nan'), float('inf'), 1.7]


def _outcome(fn):
    """What ``fn()`` gives: ('ok', array) or ('raised', type, message); warnings are ignored."""
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        try:
            return ('ok', fn())
        except Exception as ex:  # noqa: BLE001 - the exact exception is what is compared
            return ('raised', type(ex), str(ex))


def assert_same_as_np_pad(arr, pad, value):
    got = _outcome(lambda: pad_constant(arr, pad, value))
    want = _outcome(lambda: np.pad(arr, pad, mode='constant', constant_values=value))
    assert got[0] == want[0], (got, want)
    if want[0] == 'raised':
        assert got == want
        return
    got, want = got[1], want[1]
    assert got.dtype == want.dtype and got.shape == want.shape
    assert got.flags.c_contiguous == want.flags.c_contiguous and got.flags.f_contiguous == want.flags.f_contiguous
    np.testing.assert_array_equal(got, want)  # NaN equals NaN here


@pytest.mark.parametrize('dtype, value', list(itertools.product(DTYPES, VALUES)))
def test_pad_constant_matches_np_pad(dtype, value):
    arr = (np.arange(2 * 3 * 2) % 5).astype(dtype).reshape(2, 3, 2)
    for pad in ([(1, 2), (0, 3), (0, 0)], [(0, 0), (0, 0), (0, 0)], ((2, 0), (1, 1), (1, 0))):
        assert_same_as_np_pad(arr, pad, value)
    assert_same_as_np_pad(np.asfortranarray(arr), [(1, 0), (0, 2), (0, 0)], value)
    assert_same_as_np_pad(arr[:0], [(1, 1), (2, 0), (0, 0)], value)  # empty arrays are extended too
    assert_same_as_np_pad(np.asarray(arr[0, 0, 0]), [], value)  # 0-d


@pytest.mark.parametrize('pad, value', [
    ([(1, 2), (0, 3), (0, 0)], [[1, 2], [3, 4], [5, 6]]),  # per-axis values
    ([(1, 2), (0, 3), (0, 0)], [7]),
    ([(1, 2), (0, 3), (0, 0)], np.float32(2.5)),
    ([(1, -1), (0, 3), (0, 0)], 0),  # negative width
    ([(1, 2.0), (0, 3), (0, 0)], 0),  # non-integer width
    ([(1, True), (0, 3), (0, 0)], 0),
    ([(1, 2), (0, 3)], 0),  # too few axes
    ([(1, 2, 3), (0, 3), (0, 0)], 0),
    ([(np.int64(1), np.int32(2)), (0, 3), (0, 0)], 5),
    (2, 0),
    ([(1, 2), (0, 3), (0, 0)], 'text'),
])
def test_pad_constant_matches_np_pad_on_unusual_arguments(pad, value):
    arr = np.arange(2 * 3 * 2, dtype=np.float32).reshape(2, 3, 2)
    assert_same_as_np_pad(arr, pad, value)


def test_pad_window_fills_by_dtype():
    arr = np.ones((2, 3, 1), np.uint16)
    assert pad_window(arr, [(0, 0), (0, 0)]) is arr
    out = pad_window(arr, [(1, 0), (0, 2)])
    assert out.shape == (3, 5, 1) and out.dtype == np.uint16 and out.sum() == 6 and out[0].max() == 0
    out = pad_window(arr.astype(np.float32), [(0, 1), (0, 0)])
    assert np.isnan(out[2]).all() and (out[:2] == 1).all()


@pytest.mark.parametrize('padkw', [{'mode': 'constant'}, {'mode': 'constant', 'constant_values': 7}, {'mode': 'edge'},
                                   {'mode': 'reflect', 'reflect_type': 'odd'}, {'mode': 'symmetric'},
                                   {'mode': 'linear_ramp', 'end_values': 3}, {'mode': 'mean', 'stat_length': 2}])
@pytest.mark.parametrize('dtype', [np.uint8, np.float32])
def test_pad_window_is_np_pad_of_the_padkw(padkw, dtype):
    arr = np.arange(3 * 4 * 2).reshape(3, 4, 2).astype(dtype)
    widths = [(2, 0), (1, 3)]
    rule = Padding.from_padkw(padkw, value=5)
    want_kw = dict(padkw)
    if padkw['mode'] == 'constant':
        want_kw.setdefault('constant_values', 5)
    want = np.pad(arr, widths + [(0, 0)], **want_kw)
    got = pad_window(arr, widths, rule)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


def test_pad_window_pads_leading_axes_and_fills_an_empty_window():
    arr = np.ones((1, 2, 2, 1), np.float32)
    out = pad_window(arr, [(1, 1)], Padding('edge'))
    assert out.shape == (3, 2, 2, 1) and (out == 1).all()
    empty = np.zeros((0, 2, 1), np.uint8)
    out = pad_window(empty, [(2, 0), (0, 1)], Padding('edge', value=4))  # nothing to extend: the constant
    assert out.shape == (2, 3, 1) and (out == 4).all()
    assert np.isnan(pad_window(empty.astype(np.float32), [(1, 0)], Padding('reflect'))).all()


def test_border_fill_is_zero_for_a_nan_border_of_integers():
    assert border_fill(float('nan'), np.uint8) == 0
    assert border_fill(7, np.uint8) == 7
    value = border_fill(float('nan'), np.float32)
    assert value != value
