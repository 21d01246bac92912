"""Sliding-window axis arithmetic: coverage, exact window size, padded last window, core partition."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ndsampler.errors import InvalidOptionError, WindowError
from ndsampler.regions import axis_windows, overlap_pixels


@given(length=st.integers(0, 400), window=st.integers(1, 120), frac=st.floats(0, 0.95))
def test_axis_windows_cover_and_partition(length, window, frac):
    overlap = int(np.floor(frac * window))
    starts, bounds = axis_windows(length, window, overlap)
    stride = window - overlap
    n = len(starts)
    assert starts[0] == 0
    assert (np.diff(starts) == stride).all()
    # every pixel covered, the last window padded past the border (never shifted back)
    assert starts[-1] + window >= length
    if n >= 2:
        assert starts[-2] + window < length  # no redundant window
        assert starts[-1] < length
    # cores partition [0, length) and each lies inside its window
    assert bounds[0] == 0 and bounds[-1] == length
    assert (np.diff(bounds) >= 0).all()
    if length > 0:
        assert (np.diff(bounds) > 0).all()
    assert (bounds[:-1] >= starts).all() and (bounds[1:] <= starts + window).all()
    counts = np.zeros(length, int)
    for a, b in zip(bounds[:-1], bounds[1:]):
        counts[a:b] += 1
    assert (counts == 1).all()


def test_axis_windows_example():
    starts, bounds = axis_windows(10, 4, 0)
    assert starts.tolist() == [0, 4, 8]
    assert bounds.tolist() == [0, 4, 8, 10]
    starts, bounds = axis_windows(3, 8, 0)
    assert starts.tolist() == [0] and bounds.tolist() == [0, 3]


def test_overlap_pixels_forms():
    assert overlap_pixels(0, (10, 20)) == (0, 0)
    assert overlap_pixels(0.5, (10, 21)) == (5, 10)
    assert overlap_pixels((2, 0.25), (10, 20)) == (2, 5)
    for bad in (1.0, -0.1, 10, True, 'a', (1, 2, 3)):
        with pytest.raises(InvalidOptionError):
            overlap_pixels(bad, (10, 20))


def test_axis_windows_errors():
    with pytest.raises(WindowError):
        axis_windows(10, 0)
    with pytest.raises(WindowError):
        axis_windows(10, 4, 4)
