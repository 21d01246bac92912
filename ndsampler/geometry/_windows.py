"""Window, slice and padding arithmetic (no I/O).

Conventions (SPEC §2): ``slice(a, b)`` covers pixels ``a .. b-1``; windows and
shapes are ``(h, w)`` ordered like array axes; sizes are ``dsize = (w, h)``.
"""
from __future__ import annotations

import math
from typing import Sequence

import kwimage
import numpy as np

from ndsampler._typing import Slices
from ndsampler.errors import WindowError

__all__ = [
    'window_from_center',
    'normalize_slices',
    'clip_slices',
    'compose_slices',
    'pad_slices',
    'slices_shape',
    'slices_to_box',
    'box_to_slices',
]

#: Tolerance used to absorb float error when a centre should land on a pixel edge.
_EPS = 1e-9


def _low_edge(center: float, size: int) -> int:
    """``floor(center - size / 2)``, robust to float error near integers."""
    value = center - size / 2.0
    nearest = round(value)
    if abs(value - nearest) <= _EPS * max(1.0, abs(value)):
        return int(nearest)
    return int(math.floor(value))


def _check_size(name: str, size) -> int:
    if isinstance(size, (bool, np.bool_)) or not float(size).is_integer():
        raise WindowError(f'{name}={size!r} must be an integer >= 0')
    size = int(size)
    if size < 0:
        raise WindowError(f'{name}={size!r} must be an integer >= 0')
    return size


def window_from_center(cx: float, cy: float, width: int, height: int) -> tuple[slice, slice]:
    """The window of exactly ``height x width`` pixels centred on ``(cx, cy)``.

    ``low = floor(c - d / 2)`` (with float error near integers absorbed) and
    ``high = low + d``, so ``high - low == d`` always holds.

    Parameters
    ----------
    cx, cy : float
        Centre in pixel-corner coordinates.
    width, height : int
        Window size, integers >= 0.

    Returns
    -------
    tuple[slice, slice]
        ``(slice_y, slice_x)``.

    Example
    -------
    >>> window_from_center(10.5, 4.0, 3, 4)
    (slice(2, 6, None), slice(9, 12, None))
    """
    width = _check_size('width', width)
    height = _check_size('height', height)
    x0 = _low_edge(float(cx), width)
    y0 = _low_edge(float(cy), height)
    return slice(y0, y0 + height), slice(x0, x0 + width)


def normalize_slices(slices, shape: Sequence[int], wrap: bool = True) -> Slices:
    """Concrete ``slice(start, stop)`` per axis from numpy-style slices.

    Parameters
    ----------
    slices : slice | int | tuple[slice | int | None, ...]
        One entry per leading axis of ``shape`` (missing trailing axes mean the
        full extent). ``None`` bounds mean the image edge; an int ``i`` means
        ``slice(i, i + 1)``.
    shape : Sequence[int]
        The extent of each axis.
    wrap : bool
        When True, negative bounds count from the end like numpy; when False
        they are literal coordinates left of / above the image (used for padding).

    Returns
    -------
    tuple[slice, ...]
        One ``slice(start, stop)`` per axis of ``shape`` with ``stop >= start``.

    Raises
    ------
    WindowError
        More slices than axes, a step other than 1, or a negative size.

    Example
    -------
    >>> normalize_slices((slice(None, -2), slice(3, None)), (10, 8))
    (slice(0, 8, None), slice(3, 8, None))
    >>> normalize_slices(slice(-2, 4), (10, 8), wrap=False)
    (slice(-2, 4, None), slice(0, 8, None))
    """
    if not isinstance(slices, tuple):
        slices = tuple(slices) if isinstance(slices, list) else (slices,)
    elif not wrap and len(slices) == len(shape) and all(
            type(sl) is slice and type(sl.start) is int and type(sl.stop) is int and sl.step is None
            and sl.start <= sl.stop for sl in slices):
        return slices  # already concrete (the per-sample case)
    if len(slices) > len(shape):
        raise WindowError(f'got {len(slices)} slices {slices!r} for a {len(shape)}-d shape {tuple(shape)}')
    out = []
    for axis, dim in enumerate(shape):
        sl = slices[axis] if axis < len(slices) else slice(None)
        dim = int(dim)
        if sl is None:
            sl = slice(None)
        elif isinstance(sl, (int, np.integer)):
            index = int(sl) + dim if (wrap and sl < 0) else int(sl)
            sl = slice(index, index + 1)
        if not isinstance(sl, slice):
            raise WindowError(f'slice {sl!r} on axis {axis} must be a slice, an int or None')
        if sl.step not in (None, 1):
            raise WindowError(f'slice {sl!r} on axis {axis} has step {sl.step!r}; allowed: 1 or None')
        start = 0 if sl.start is None else int(sl.start)
        if wrap and start < 0:
            start += dim
        stop = max(dim, start) if sl.stop is None else int(sl.stop)
        if wrap and stop < 0:
            stop += dim
        if stop < start:
            raise WindowError(f'slice {sl!r} on axis {axis} has negative size ({start}:{stop})')
        out.append(slice(start, stop))
    return tuple(out)


def clip_slices(slices: Slices, shape: Sequence[int]) -> tuple[Slices, list[tuple[int, int]]]:
    """Split a window into its in-bounds part and the padding around it.

    ``np.pad(arr[clipped], pad + [(0, 0)] * extra_axes)`` equals the window read
    with out-of-bounds pixels filled by the pad value.

    Parameters
    ----------
    slices : tuple[slice, ...]
        Concrete ``slice(start, stop)`` (see :func:`normalize_slices` with ``wrap=False``).
    shape : Sequence[int]
        Extent of each sliced axis.

    Returns
    -------
    clipped : tuple[slice, ...]
        In-bounds slices (size 0 when the window is wholly outside).
    pad : list[tuple[int, int]]
        ``(before, after)`` per axis.

    Example
    -------
    >>> clip_slices((slice(-2, 3), slice(5, 12)), (4, 10))
    ((slice(0, 3, None), slice(5, 10, None)), [(2, 0), (0, 2)])
    """
    if len(slices) == 2:  # fast path: an in-bounds 2-d window
        sl_y, sl_x = slices
        if 0 <= sl_y.start <= sl_y.stop <= shape[0] and 0 <= sl_x.start <= sl_x.stop <= shape[1]:
            return (slice(sl_y.start, sl_y.stop), slice(sl_x.start, sl_x.stop)), [(0, 0), (0, 0)]
    clipped = []
    pad = []
    for sl, dim in zip(slices, shape):
        start, stop = int(sl.start), int(sl.stop)
        if stop < start:
            raise WindowError(f'slice {sl!r} has negative size')
        dim = int(dim)
        lo = min(max(start, 0), dim)
        hi = min(max(stop, lo), dim)
        before = max(0, min(lo - start, stop - start))
        after = (stop - start) - before - (hi - lo)
        clipped.append(slice(lo, hi))
        pad.append((before, after))
    return tuple(clipped), pad


def compose_slices(outer: Slices, inner: Slices) -> Slices:
    """The single window equal to taking ``inner`` of the result of ``outer``.

    Both are concrete non-wrapping ``slice(start, stop)``; ``inner`` is relative
    to the window ``outer`` selects (it may leave it, e.g. for padding).

    Example
    -------
    >>> compose_slices((slice(10, 20), slice(5, 9)), (slice(2, 4), slice(-1, 3)))
    (slice(12, 14, None), slice(4, 8, None))
    """
    if len(outer) != len(inner):
        raise WindowError(f'cannot compose {len(outer)}-d slices {outer!r} with {len(inner)}-d slices {inner!r}')
    return tuple(slice(o.start + i.start, o.start + i.stop) for o, i in zip(outer, inner))


def pad_slices(slices: Slices, pad) -> Slices:
    """Grow each window by ``pad`` (an int, or per-axis ints or (before, after) pairs)."""
    if isinstance(pad, (int, np.integer)):
        pad = [(int(pad), int(pad))] * len(slices)
    pairs = [(p, p) if isinstance(p, (int, np.integer)) else tuple(p) for p in pad]
    if len(pairs) != len(slices):
        raise WindowError(f'pad {pad!r} does not match {len(slices)} slices')
    return tuple(slice(sl.start - int(a), sl.stop + int(b)) for sl, (a, b) in zip(slices, pairs))


def slices_shape(slices: Slices) -> tuple[int, ...]:
    """Size of each concrete slice."""
    return tuple(int(sl.stop) - int(sl.start) for sl in slices)


def slices_to_box(slices: Slices) -> kwimage.Boxes:
    """The ``(y, x)`` window as a single ``ltrb`` box in corner coordinates."""
    sl_y, sl_x = slices[-2], slices[-1]
    return kwimage.Boxes(np.array([[sl_x.start, sl_y.start, sl_x.stop, sl_y.stop]], dtype=float), 'ltrb', canonical=True)


def box_to_slices(box) -> tuple[slice, slice]:
    """Smallest integer ``(slice_y, slice_x)`` window containing one box.

    Accepts a ``kwimage.Boxes`` holding one box (any format) or an ``ltrb``
    sequence. Edges within 1e-6 of an integer snap to it.

    Example
    -------
    >>> box_to_slices([1.2, 0, 3.0000000001, 2.5])
    (slice(0, 3, None), slice(1, 3, None))
    """
    if isinstance(box, kwimage.Boxes):
        ltrb = np.asarray(box.to_ltrb().data, dtype=float).reshape(-1, 4)
        if len(ltrb) != 1:
            raise WindowError(f'expected one box, got {len(ltrb)}')
        ltrb = ltrb[0].tolist()
    else:
        ltrb = np.asarray(box, dtype=float).reshape(4).tolist()
    if not all(math.isfinite(v) for v in ltrb):
        raise WindowError(f'box {ltrb} has non-finite edges')
    x0, y0 = (_snap(v, math.floor) for v in ltrb[:2])
    x1, y1 = (_snap(v, math.ceil) for v in ltrb[2:])
    if x1 < x0 or y1 < y0:
        raise WindowError(f'box {ltrb} has negative size')
    return slice(y0, y1), slice(x0, x1)


def _snap(value: float, outward) -> int:
    """``value`` rounded to an integer within 1e-6 of it, else ``outward(value)`` (floor / ceil)."""
    nearest = round(value)
    return nearest if abs(value - nearest) < 1e-6 else int(outward(value))
