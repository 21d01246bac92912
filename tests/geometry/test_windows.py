"""Property tests for window / slice / padding arithmetic."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ndsampler.errors import WindowError
from ndsampler.geometry import (
    box_to_slices,
    clip_slices,
    compose_slices,
    normalize_slices,
    pad_slices,
    slices_shape,
    slices_to_box,
    window_from_center,
)

coords = st.floats(-1e5, 1e5, allow_nan=False)
sizes = st.integers(0, 4096)


@given(coords, coords, sizes, sizes)
def test_window_from_center_has_exact_size(cx, cy, w, h):
    sl_y, sl_x = window_from_center(cx, cy, w, h)
    assert sl_x.stop - sl_x.start == w
    assert sl_y.stop - sl_y.start == h
    # low = floor(cx - w/2): the window's centre is at most one pixel left of cx
    shift = cx - (sl_x.start + sl_x.stop) / 2
    tol = 1e-6 * max(1, abs(cx))
    assert -tol <= shift < 1 + tol


@given(st.integers(-1000, 1000), st.integers(0, 100), st.integers(1, 7))
def test_window_from_center_float_error_is_absorbed(c, d, denom):
    # a centre computed with float error still gives floor(c - d/2) of the exact value
    cx = (c * denom + 0.1 * denom - 0.1 * denom) / denom
    sl_y, sl_x = window_from_center(cx, cx, d, d)
    exact = c - d / 2
    assert sl_x.start == int(np.floor(exact))


def test_window_from_center_rejects_bad_sizes():
    with pytest.raises(WindowError, match='width'):
        window_from_center(0, 0, -1, 2)
    with pytest.raises(WindowError, match='height'):
        window_from_center(0, 0, 1, 2.5)


def test_window_from_center_examples():
    assert window_from_center(5, 5, 4, 4) == (slice(3, 7), slice(3, 7))
    assert window_from_center(5, 5, 3, 3) == (slice(3, 6), slice(3, 6))
    assert window_from_center(0.5, 0.5, 1, 1) == (slice(0, 1), slice(0, 1))


@st.composite
def windows(draw, ndim=2):
    shape = tuple(draw(st.integers(0, 12)) for _ in range(ndim))
    slices = []
    for _ in range(ndim):
        start = draw(st.integers(-20, 30))
        slices.append(slice(start, start + draw(st.integers(0, 25))))
    return shape, tuple(slices)


def boundless_read(arr, slices, fill):
    """Reference: read pixel by pixel with fill outside."""
    out_shape = slices_shape(slices) + arr.shape[len(slices):]
    out = np.full(out_shape, fill, dtype=arr.dtype)
    for idx in np.ndindex(*slices_shape(slices)):
        src = tuple(sl.start + i for sl, i in zip(slices, idx))
        if all(0 <= s < d for s, d in zip(src, arr.shape)):
            out[idx] = arr[src]
    return out


@given(windows(), st.integers(1, 3))
def test_clip_slices_then_pad_equals_boundless_read(window, channels):
    shape, slices = window
    arr = np.arange(int(np.prod(shape)) * channels, dtype=np.int64).reshape(shape + (channels,)) + 1
    clipped, pad = clip_slices(slices, shape)
    assert all(sl.start <= sl.stop for sl in clipped)
    got = np.pad(arr[clipped], pad + [(0, 0)], constant_values=0)
    np.testing.assert_array_equal(got, boundless_read(arr, slices, 0))


def test_clip_slices_wholly_outside():
    clipped, pad = clip_slices((slice(-10, -5), slice(20, 23)), (4, 4))
    assert slices_shape(clipped) == (0, 0)
    assert pad == [(5, 0), (0, 3)]


@given(windows(), st.integers(-5, 5), st.integers(0, 6), st.integers(-5, 5), st.integers(0, 6))
def test_compose_slices(window, y0, h, x0, w):
    shape, outer = window
    arr = np.arange(40 * 40).reshape(40, 40)
    inner = (slice(y0, y0 + h), slice(x0, x0 + w))
    first = boundless_read(arr, outer, -1)
    expected = boundless_read(first, inner, -1)
    # reading inner out of the first window only differs outside the first window
    composed = boundless_read(arr, compose_slices(outer, inner), -1)
    inside = boundless_read(np.ones_like(first), inner, 0).astype(bool)
    np.testing.assert_array_equal(composed[inside], expected[inside])


@given(st.integers(-20, 20), st.integers(-20, 20), st.integers(0, 20), st.integers(0, 20))
def test_normalize_slices_matches_numpy(a, b, h, w):
    arr = np.arange(h * w).reshape(h, w)
    sl = slice(a, b)
    try:
        norm = normalize_slices((sl, sl), (h, w))
    except WindowError:
        assert arr[sl, sl].size == 0
        return
    ref = arr[sl, sl]
    clipped, _ = clip_slices(norm, (h, w))
    np.testing.assert_array_equal(arr[clipped], ref)


def test_normalize_slices_forms():
    assert normalize_slices(None, (4, 5)) == (slice(0, 4), slice(0, 5))
    assert normalize_slices((2, -1), (4, 5)) == (slice(2, 3), slice(4, 5))
    assert normalize_slices([slice(-2, None)], (4, 5)) == (slice(2, 4), slice(0, 5))
    assert normalize_slices((slice(-2, 2),), (4, 5), wrap=False) == (slice(-2, 2), slice(0, 5))


def test_normalize_slices_errors():
    with pytest.raises(WindowError, match='step'):
        normalize_slices((slice(0, 4, 2),), (4, 4))
    with pytest.raises(WindowError, match='negative size'):
        normalize_slices((slice(3, 1),), (4, 4))
    with pytest.raises(WindowError, match='3 slices'):
        normalize_slices((slice(None),) * 3, (4, 4))
    with pytest.raises(WindowError):
        normalize_slices(('a',), (4, 4))


def test_pad_slices():
    assert pad_slices((slice(2, 4), slice(0, 1)), 1) == (slice(1, 5), slice(-1, 2))
    assert pad_slices((slice(2, 4), slice(0, 1)), [(0, 1), 2]) == (slice(2, 5), slice(-2, 3))
    with pytest.raises(WindowError):
        pad_slices((slice(2, 4),), [1, 2])


@given(windows())
def test_slices_box_round_trip(window):
    _, slices = window
    box = slices_to_box(slices)
    assert box_to_slices(box) == slices


def test_box_to_slices_rounds_outward():
    assert box_to_slices([0.5, 1.5, 2.2, 3.9]) == (slice(1, 4), slice(0, 3))
    with pytest.raises(WindowError):
        box_to_slices([3, 0, 1, 1])
