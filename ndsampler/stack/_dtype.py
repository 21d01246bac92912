"""Image dtype conversion with image-range semantics, written with numpy only.

Every dtype has an *image range*: the interval of values that means "black to
full intensity".

==================  ===========================================
dtype kind          image range
==================  ===========================================
bool                {False, True}  (the same as {0.0, 1.0})
unsigned integer    [0, iinfo.max]  ↔ [0.0, 1.0]
signed integer      [-iinfo.max, iinfo.max] ↔ [-1.0, 1.0]
float               [0.0, 1.0] (or [-1.0, 1.0] for signed data)
==================  ===========================================

Conversion maps one range onto the other, going through float:

* **float → float**: a plain cast, values are kept (no clipping).
* **integer → float**: ``x / iinfo.max``; signed integers are clipped below at
  -1 (so the most negative value, e.g. -128 for int8, maps to -1.0, the same as
  -127).
* **float → unsigned integer**: ``rint(clip(x, 0, 1) * iinfo.max)``.
* **float → signed integer**: ``rint(clip(x, -1, 1) * iinfo.max)`` (symmetric,
  so 0.0 ↔ 0 and -1.0 ↔ -iinfo.max).
* **integer → integer**: through the float form of the source, then as above
  (uint8 → uint16 multiplies by 257; negative values become 0 in an unsigned
  target).
* **bool → anything**: False → 0, True → the top of the range (1.0, or
  ``iinfo.max``).
* **anything → bool**: True where the float form is above 0.5 (uint8: x ≥ 128).
* 64-bit integers go through float64, so values between the range ends are exact to
  about 16 significant digits (the ends themselves are exact).
* NaN becomes 0 and ±inf clip to the range ends when the target is an integer.

Complex, object, string and datetime dtypes are not image dtypes and raise
:class:`~ndsampler.errors.InvalidOptionError`.

Example
-------
>>> import numpy as np
>>> convert_image_dtype(np.array([0.0, 0.5, 1.0, 2.0]), np.uint8)
array([  0, 128, 255, 255], dtype=uint8)
>>> convert_image_dtype(np.array([0, 255], dtype=np.uint8), np.float32)
array([0., 1.], dtype=float32)
>>> convert_image_dtype(np.array([True, False]), np.uint16)
array([65535,     0], dtype=uint16)
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ndsampler.errors import InvalidOptionError

__all__ = ['convert_image_dtype', 'image_dtype']

_ALLOWED = 'a bool, unsigned integer, signed integer or real float dtype'


def image_dtype(dtype: Any) -> np.dtype:
    """Coerce ``dtype`` to a numpy dtype that can hold an image.

    Parameters
    ----------
    dtype : Any
        Anything :class:`numpy.dtype` accepts.

    Returns
    -------
    np.dtype

    Raises
    ------
    InvalidOptionError
        If it is not a bool, integer or real float dtype.
    """
    try:
        coerced = np.dtype(dtype)
    except TypeError as ex:
        raise InvalidOptionError('dtype', dtype, _ALLOWED) from ex
    if coerced.kind not in 'buif':
        raise InvalidOptionError('dtype', coerced, _ALLOWED)
    return coerced


def _largest_float_below(info: np.iinfo) -> float:
    """The largest float64 that still fits in the integer type."""
    top = float(info.max)
    return top if int(top) <= info.max else float(np.nextafter(top, 0.0))


def _work_dtype(src: np.dtype, dst: np.dtype) -> np.dtype:
    """float32 is exact enough for 8/16-bit integers and float32 data; else float64."""
    small = all((d.kind in 'bui' and d.itemsize <= 2) or (d.kind == 'f' and d.itemsize <= 4) for d in (src, dst))
    return np.dtype(np.float32) if small else np.dtype(np.float64)


def _to_unit_float(image: np.ndarray, work: np.dtype) -> np.ndarray:
    """The float form of an image: [0, 1] for unsigned / bool, [-1, 1] for signed."""
    kind = image.dtype.kind
    if kind in 'bf':
        return image.astype(work, copy=False)
    info = np.iinfo(image.dtype)
    unit = image.astype(work) / work.type(info.max)
    if kind == 'i':
        np.maximum(unit, -1.0, out=unit)
    return unit


def convert_image_dtype(image: Any, dtype: Any, copy: bool = False) -> np.ndarray:
    """Convert an image to ``dtype`` with image-range semantics (see the module table).

    Parameters
    ----------
    image : array_like
        The image, any shape.
    dtype : Any
        The target dtype (bool, integer or real float).
    copy : bool
        Return a copy even when the dtype already matches.

    Returns
    -------
    np.ndarray
        The converted image, same shape.

    Raises
    ------
    InvalidOptionError
        If the source or target dtype is not an image dtype.
    """
    image = np.asarray(image)
    src = image_dtype(image.dtype)
    dst = image_dtype(dtype)
    if src == dst:
        return image.copy() if copy else image
    if dst.kind == 'f' and src.kind == 'f':
        return image.astype(dst)
    work = _work_dtype(src, dst)
    unit = _to_unit_float(image, work)
    if dst.kind == 'f':
        return unit.astype(dst, copy=False)
    if dst.kind == 'b':
        return unit > 0.5
    info = np.iinfo(dst)
    low = -1.0 if dst.kind == 'i' else 0.0
    scaled = np.clip(np.nan_to_num(unit, nan=0.0, posinf=1.0, neginf=low), low, 1.0)
    top = _largest_float_below(info)
    out = np.clip(np.rint(scaled * work.type(info.max)), -top if dst.kind == 'i' else 0.0, top).astype(dst)
    if top != info.max:  # 64-bit targets: float64 cannot hold iinfo.max, so pin the range ends exactly
        out[scaled >= 1.0] = info.max
        if dst.kind == 'i':
            out[scaled <= -1.0] = -info.max
    return out
