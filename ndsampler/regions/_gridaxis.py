"""Sliding-window arithmetic along one axis: window starts and the cores that partition it.

Windows of size ``d`` step by ``s = d - o`` (``o`` the overlap in pixels). There are
``n = 1 + max(0, ceil((L - d) / s))`` windows over an axis of length ``L``: the first
starts at 0, every pixel is covered, and the last one is *padded* (it may run past
``L``), never shifted back. Window ``k`` covers ``[k s, k s + d)``; its *core* is
``[b_k, b_{k+1})`` with ``b_0 = 0``, ``b_k = k s + floor(o / 2)`` and ``b_n = L``, so the
cores partition ``[0, L)`` exactly and each core lies inside its window (the overlap is
split between neighbours).
"""
from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Any, Sequence

import numpy as np

from ndsampler.errors import InvalidOptionError, WindowError

__all__ = ['axis_windows', 'overlap_pixels']


def overlap_pixels(window_overlap: Any, window_dims: Sequence[int]) -> tuple[int, ...]:
    """Overlap in pixels per axis.

    Parameters
    ----------
    window_overlap : float | int | sequence
        A float in ``[0, 1)`` is a fraction of the window (``floor(frac * d)`` pixels); an
        int is a number of pixels in ``[0, d)``. One value for every axis, or one per axis.
    window_dims : sequence of int
        The window size per axis.

    Example
    -------
    >>> overlap_pixels(0.25, (64, 30))
    (16, 7)
    >>> overlap_pixels(3, (64, 30))
    (3, 3)
    """
    dims = tuple(int(d) for d in window_dims)
    if isinstance(window_overlap, (str, bytes)) or not np.iterable(window_overlap):
        values = [window_overlap] * len(dims)
    else:
        values = list(window_overlap)
    if len(values) != len(dims):
        raise InvalidOptionError('window_overlap', window_overlap, f'one value or {len(dims)} values')
    out = []
    for value, dim in zip(values, dims):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, Real):
            raise InvalidOptionError('window_overlap', window_overlap, 'a fraction in [0, 1) or an int of pixels')
        if isinstance(value, Integral):
            pix = int(value)
        elif 0.0 <= float(value) < 1.0:
            pix = int(math.floor(float(value) * dim))
        else:
            raise InvalidOptionError('window_overlap', window_overlap, 'a fraction in [0, 1) or an int of pixels')
        if not 0 <= pix < max(dim, 1):
            raise InvalidOptionError('window_overlap', window_overlap, f'pixels in [0, {dim}) for a window of {dim}')
        out.append(pix)
    return tuple(out)


def axis_windows(length: int, window: int, overlap: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Window starts and core bounds along one axis (see module doc).

    Returns
    -------
    starts : ndarray of int, shape (n,)
        Window ``k`` is ``slice(starts[k], starts[k] + window)``.
    bounds : ndarray of int, shape (n + 1,)
        Core ``k`` is ``slice(bounds[k], bounds[k + 1])``.

    Example
    -------
    >>> starts, bounds = axis_windows(10, 4, 1)
    >>> starts.tolist(), bounds.tolist()
    ([0, 3, 6], [0, 3, 6, 10])
    """
    length, window, overlap = int(length), int(window), int(overlap)
    if window < 1 or length < 0:
        raise WindowError(f'window={window} must be >= 1 and length={length} >= 0')
    if not 0 <= overlap < window:
        raise WindowError(f'overlap={overlap} must be in [0, {window})')
    stride = window - overlap
    n = 1 + max(0, -(-(length - window) // stride))
    starts = np.arange(n, dtype=np.int64) * stride
    bounds = np.empty(n + 1, dtype=np.int64)
    bounds[0] = 0
    bounds[1:n] = starts[1:] + overlap // 2
    bounds[n] = max(length, bounds[n - 1])
    return starts, bounds
