"""Array-level operations behind the nodes: warping with antialiasing, padding, dequantizing."""
from __future__ import annotations

import math
from typing import Any, NamedTuple, Sequence

import cv2
import numpy as np

from ndsampler.delayed._resample import SUPPORT, resample
from ndsampler.errors import InvalidOptionError

__all__ = ['INTERPOLATIONS', 'check_interpolation', 'kernel_support', 'antialias_params',
           'fill_value', 'border_fill', 'axis_scales', 'warp_array', 'dequantize_array', 'pad_constant', 'Padding',
           'pad_window']

#: The interpolations a warp offers; each is defined in :mod:`ndsampler.delayed._resample`, not by OpenCV.
INTERPOLATIONS = ('nearest', 'linear', 'cubic', 'area', 'lanczos')

#: dtypes cv2.GaussianBlur handles natively; others are blurred as float64.
_CV2_DTYPES = {np.dtype(t) for t in (np.uint8, np.uint16, np.int16, np.float32, np.float64)}

#: Gaussian sigma and kernel size matching one 2x pyramid step (cv2.pyrDown's [1 4 6 4 1]).
_AA_SIGMA0 = 1.0699027846904146
_AA_K0 = 5


def check_interpolation(interpolation: str) -> str:
    """Validate an interpolation name (InvalidOptionError naming the allowed set)."""
    if interpolation not in INTERPOLATIONS:
        raise InvalidOptionError('interpolation', interpolation, INTERPOLATIONS)
    return interpolation


def antialias_params(scale: float) -> tuple[int, float]:
    """Gaussian ``(ksize, sigma)`` applied in source pixels before a downscale by ``scale`` (k=1: none)."""
    if scale >= 1:
        return 1, 0.0
    num_downs = math.log2(1 / scale)
    sigma = _AA_SIGMA0 * 2 ** (num_downs - 1)
    k = int(math.ceil(_AA_K0 * 2 ** (num_downs - 1)))
    return k + (k % 2 == 0), sigma


def kernel_support(interpolation: str, antialias: bool, sx: float, sy: float) -> tuple[int, int]:
    """Source pixels ``(x, y)`` beyond a window's mapped extent that a warp can read."""
    base = SUPPORT[interpolation]
    out = []
    for scale in (sx, sy):
        support = base if scale >= 1 else int(math.ceil(base / scale))
        if antialias and interpolation != 'nearest':
            support += antialias_params(scale)[0] // 2
        out.append(support + 1)
    return out[0], out[1]


def fill_value(dtype: np.dtype) -> float:
    """What out-of-bounds pixels become: NaN for float data, 0 otherwise."""
    return float('nan') if np.dtype(dtype).kind == 'f' else 0


def border_fill(value: Any, dtype: np.dtype) -> Any:
    """``value`` as a fill of ``dtype`` pixels: a NaN border becomes 0 for non-float data (it has no NaN)."""
    return 0 if value != value and np.dtype(dtype).kind != 'f' else value


def axis_scales(matrix: np.ndarray) -> tuple[float, float]:
    """How much an affine stretches the x and y axes: the lengths of its first two columns."""
    return math.hypot(matrix[0, 0], matrix[1, 0]), math.hypot(matrix[0, 1], matrix[1, 1])


def pad_constant(arr: np.ndarray, pad: Sequence[tuple[int, int]], value: Any) -> np.ndarray:
    """``np.pad(arr, pad, mode='constant', constant_values=value)``, several times faster for a scalar ``value``.

    The same values, dtype, memory order and errors: ``value`` is cast as
    ``np.pad`` casts it, and anything but non-negative integer widths, one
    pair per axis, and a single value goes to ``np.pad`` itself.
    """
    fill = np.array(value)
    if fill.size != 1 or fill.ndim > 2 or not _plain_widths(pad, arr.ndim):
        return np.pad(arr, pad, mode='constant', constant_values=value)
    out = np.empty([a + n + b for n, (a, b) in zip(arr.shape, pad)], dtype=arr.dtype,
                   order='F' if arr.flags.fnc else 'C')
    out[...] = fill.ravel()[0]  # np.pad assigns this numpy scalar
    out[tuple(slice(a, a + n) for n, (a, _) in zip(arr.shape, pad))] = arr
    return out


def _plain_widths(pad: Any, ndim: int) -> bool:
    """``pad`` is a list or tuple of ``ndim`` (at least one) pairs of non-negative integers."""
    if not isinstance(pad, (list, tuple)) or not 0 < len(pad) == ndim:
        return False
    for pair in pad:
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            return False
        for w in pair:
            if not isinstance(w, (int, np.integer)) or isinstance(w, bool) or w < 0:
                return False
    return True


class Padding(NamedTuple):
    """How the pixels of a window beyond the data are filled: ``np.pad``'s ``mode`` and options.

    The one padding rule of a window read (:func:`pad_window`); the arithmetic of
    what to pad is :func:`ndsampler.geometry.clip_slices`.

    Attributes
    ----------
    mode : str
        An ``np.pad`` mode (``'constant'``, ``'edge'``, ``'reflect'``, ...).
    value : float | None
        The fill of ``'constant'`` (and of any mode over an empty window, which has
        nothing to extend); None: :func:`fill_value` of the pixels' dtype (NaN for
        floats, 0 otherwise), the rule of a delayed crop.
    options : tuple
        The mode's other ``np.pad`` keywords as ``(key, value)`` pairs
        (``reflect_type``, ``stat_length``, ``end_values``).
    """

    mode: str = 'constant'
    value: Any = None
    options: tuple = ()

    @classmethod
    def from_padkw(cls, padkw: dict, value: Any = None) -> 'Padding':
        """The rule of ``np.pad`` keywords ``{'mode': ..., ...}`` (no mode: constant).

        ``constant_values`` in ``padkw`` is the fill; else ``value`` (None: by dtype).
        """
        options = {k: v for k, v in padkw.items() if k != 'mode'}
        value = options.pop('constant_values', value)
        return cls(padkw.get('mode', 'constant'), value, tuple(options.items()))


#: The delayed crop's padding: constant, NaN for float pixels, 0 otherwise.
FILL = Padding()


def pad_window(arr: np.ndarray, widths: Sequence[tuple[int, int]], padding: Padding | None = None) -> np.ndarray:
    """``arr`` padded by ``(before, after)`` ``widths`` on its leading axes (the others unpadded) per ``padding``.

    ``arr`` itself when every width is 0. A constant fill (also any mode over an
    empty ``arr``) uses :func:`pad_constant`; other modes ``np.pad``.

    Example
    -------
    >>> import numpy as np
    >>> pad_window(np.ones((1, 2, 1), np.uint8), [(1, 0)])[..., 0].tolist()
    [[0, 0], [1, 1]]
    >>> pad_window(np.arange(2.0).reshape(1, 2, 1), [(0, 0), (0, 1)], Padding('edge'))[..., 0].tolist()
    [[0.0, 1.0, 1.0]]
    """
    if not any(a or b for a, b in widths):
        return arr
    padding = FILL if padding is None else padding
    full = list(widths) + [(0, 0)] * (arr.ndim - len(widths))
    if padding.mode == 'constant' or arr.size == 0:
        value = fill_value(arr.dtype) if padding.value is None else padding.value
        return pad_constant(arr, full, value)
    return np.pad(arr, full, mode=padding.mode, **dict(padding.options))


def warp_array(arr: np.ndarray, matrix: np.ndarray, dsize: tuple[int, int], interpolation: str,
               antialias: bool, border_value: float, valid_box: Sequence[float] | None = None) -> np.ndarray:
    """Warp an (h, w, c) array by a corner-convention affine into ``dsize`` (w, h).

    Output pixels whose centre maps inside ``valid_box`` (``ltrb`` in source
    pixels; default the source extent) are interpolated with the edge pixels
    replicated, so a border never bleeds into the image; all others get
    ``border_value``.
    """
    w, h = dsize
    c = arr.shape[2]
    dtype = arr.dtype
    if arr.shape[0] == 0 or arr.shape[1] == 0 or w == 0 or h == 0:
        out = np.empty((h, w, c), dtype=dtype)
        out[...] = border_fill(border_value, dtype)
        return out
    work = arr
    if antialias and interpolation != 'nearest':
        sx, sy = axis_scales(matrix)
        kx, sigx = antialias_params(sx)
        ky, sigy = antialias_params(sy)
        if kx > 1 or ky > 1:
            work = _blur(arr if dtype in _CV2_DTYPES else arr.astype(np.float64), kx, ky, sigx, sigy)
    border_value = border_fill(border_value, dtype)
    out = resample(work, np.asarray(matrix, dtype=float), (w, h), interpolation)
    if valid_box is None:
        valid_box = (0.0, 0.0, float(arr.shape[1]), float(arr.shape[0]))
    outside = ~_inside_mask(np.asarray(matrix, dtype=float), (w, h), valid_box)
    if outside.any():
        out[outside] = border_value
    if out.dtype != dtype:
        out = np.round(out) if dtype.kind in 'iub' else out
        out = out.astype(dtype)
    return out


def _inside_mask(matrix: np.ndarray, dsize: tuple[int, int], box: Sequence[float]) -> np.ndarray:
    """(h, w) mask of output pixels whose centre maps into ``box`` (ltrb, source pixels).

    Axis-aligned affines give a mask that is an outer product of a row and a
    column test (a broadcast view, not an (h, w) computation).
    """
    w, h = dsize
    inv = np.linalg.inv(matrix)
    xs = np.arange(w, dtype=np.float64) + 0.5
    ys = np.arange(h, dtype=np.float64)[:, None] + 0.5
    eps = 1e-9
    if inv[0, 1] == 0 and inv[1, 0] == 0:
        src_x = inv[0, 0] * xs + inv[0, 2]
        src_y = inv[1, 1] * ys + inv[1, 2]
        return np.broadcast_to(((src_x >= box[0] - eps) & (src_x < box[2] - eps))[None, :]
                               & ((src_y >= box[1] - eps) & (src_y < box[3] - eps)), (h, w))
    src_x = inv[0, 0] * xs + inv[0, 1] * ys + inv[0, 2]
    src_y = inv[1, 0] * xs + inv[1, 1] * ys + inv[1, 2]
    return ((src_x >= box[0] - eps) & (src_x < box[2] - eps) & (src_y >= box[1] - eps) & (src_y < box[3] - eps))


def _blur(arr: np.ndarray, kx: int, ky: int, sigx: float, sigy: float) -> np.ndarray:
    chunks = []
    for start in range(0, arr.shape[2], 4):
        part = np.ascontiguousarray(arr[:, :, start:start + 4])
        blurred = cv2.GaussianBlur(part, (kx, ky), sigx, sigmaY=sigy, borderType=cv2.BORDER_REFLECT_101)
        chunks.append(blurred.reshape(part.shape))
    return chunks[0] if len(chunks) == 1 else np.concatenate(chunks, axis=2)


def dequantize_array(arr: np.ndarray, quantization: dict) -> np.ndarray:
    """Integer pixels back to floats (``orig_dtype``) per a complete kwcoco quantization dict; ``nodata`` becomes NaN."""
    q = quantization
    real = np.dtype(q['orig_dtype']).type
    scale = (q['orig_max'] - q['orig_min']) / (q['quant_max'] - q['quant_min'])
    out = (arr.astype(real) - real(q['quant_min'])) * real(scale) + real(q['orig_min'])
    nodata = q.get('nodata')
    if nodata is not None:
        out[arr == nodata] = np.nan
    return out
