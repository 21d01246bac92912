"""Affine resampling with our own interpolation rules, so pixels never depend on the OpenCV version.

OpenCV 4 and 5 interpolate differently (5 drops the 1/32-pixel coordinate
tables of 4; its nearest neighbour breaks ties the other way), so every
interpolation the library exposes is computed here with numpy from one
definition:

- Coordinates: output pixel ``(i, j)`` samples the source at its centre mapped
  back through the affine (corner convention, SPEC §2); in the source, pixel
  ``k`` has its centre at ``k + 0.5``.
- ``nearest``: the source pixel whose centre is nearest; a tie (a sample
  exactly between two centres, e.g. every sample of a 2x downscale) goes to
  the lower index, so a 2x downscale is ``arr[::2, ::2]``.
- ``linear`` (and ``area``, which a warp treats as linear, as OpenCV's
  ``warpAffine`` does): bilinear weights.
- ``cubic``: Keys' cubic convolution with ``a = -0.75`` (4 taps per axis).
- ``lanczos``: Lanczos with ``a = 4`` (8 taps per axis), weights normalised
  to sum to one.
- Taps that fall outside the source repeat its edge pixel.

Axis-aligned affines (scale + translation, the common case) resample each
axis separately; any other affine gathers the 2-D taps directly.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

__all__ = ['resample', 'SUPPORT']

#: Float error tolerated in a sample's position: this close to a midpoint is a nearest-neighbour tie, this close
#: to a pixel centre is on it.
_TIE_EPS = 1e-9


def _linear(t: np.ndarray) -> np.ndarray:
    return np.maximum(0.0, 1.0 - np.abs(t))


def _cubic(t: np.ndarray, a: float = -0.75) -> np.ndarray:
    t = np.abs(t)
    t2, t3 = t * t, t * t * t
    near = (a + 2) * t3 - (a + 3) * t2 + 1
    far = a * t3 - 5 * a * t2 + 8 * a * t - 4 * a
    return np.where(t < 1, near, np.where(t < 2, far, 0.0))


def _lanczos(t: np.ndarray, a: int = 4) -> np.ndarray:
    # exact at whole-pixel distances (np.sinc(1) is 4e-17, not 0): 1 at 0, 0 at the other integers
    whole = np.rint(t)
    w = np.where(np.abs(t) < a, np.sinc(t) * np.sinc(t / a), 0.0)
    return np.where(t == whole, (whole == 0).astype(float), w)


#: interpolation -> (kernel, taps before the floor index, taps in all)
_KERNELS: dict[str, tuple[Callable[[np.ndarray], np.ndarray], int, int]] = {
    'linear': (_linear, 0, 2),
    'area': (_linear, 0, 2),
    'cubic': (_cubic, 1, 4),
    'lanczos': (_lanczos, 3, 8),
}

#: Source pixels each side of a sample that an interpolation reads (at scale >= 1).
SUPPORT = {'nearest': 1, **{name: ntaps - before - 1 for name, (_, before, ntaps) in _KERNELS.items()}}


def _nearest_index(centre: np.ndarray) -> np.ndarray:
    """Index of the nearest source pixel to centre-convention coordinates ``centre`` (ties down)."""
    return np.ceil(centre - 0.5 - _TIE_EPS).astype(np.intp)


def _taps(centre: np.ndarray, n_src: int, interpolation: str) -> tuple[np.ndarray, np.ndarray]:
    """Source indices ``(taps, ...)`` (edge-clamped) and their weights for samples at ``centre``.

    ``centre`` holds source coordinates in the centre convention (pixel ``k``
    at ``k``), any shape; the results get one leading axis of taps.
    """
    if interpolation == 'nearest':
        idx = np.clip(_nearest_index(centre), 0, n_src - 1)
        return idx[None], np.ones((1,) + centre.shape)
    kernel, before, ntaps = _KERNELS[interpolation]
    # a sample within float error of a pixel centre is on it (its neighbours then weigh exactly 0)
    whole = np.rint(centre)
    centre = np.where(np.abs(centre - whole) < _TIE_EPS, whole, centre)
    base = np.floor(centre).astype(np.intp) - before
    offsets = np.arange(ntaps).reshape((ntaps,) + (1,) * centre.ndim)
    idx = base[None] + offsets
    weights = kernel(centre[None] - idx)
    weights /= weights.sum(axis=0, keepdims=True)
    idx = np.clip(idx, 0, n_src - 1)
    # a tap of weight 0 reads the heaviest tap's pixel instead, so a NaN it cannot weigh never leaks in (0 * NaN)
    heaviest = np.take_along_axis(idx, weights.argmax(axis=0)[None], axis=0)
    return np.where(weights == 0, heaviest, idx), weights


def _to_dtype(out: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Round half to even and saturate float results into an integer ``dtype`` (in place), or cast floats."""
    if dtype.kind in 'iu':
        info = np.iinfo(dtype)
        np.rint(out, out=out)
        np.clip(out, info.min, info.max, out=out)
    elif dtype.kind == 'b':
        np.rint(out, out=out)
    return out.astype(dtype, copy=False)


def resample(arr: np.ndarray, matrix: np.ndarray, dsize: tuple[int, int], interpolation: str) -> np.ndarray:
    """Sample an (h, w, c) array through a corner-convention affine into ``dsize`` (w, h).

    Every output pixel is interpolated from source pixels, with the source's
    edge repeated beyond its extent; the caller decides which output pixels
    are border instead. The result has ``arr``'s dtype (integers rounded half
    to even and saturated).

    Parameters
    ----------
    arr : np.ndarray
        Source pixels, (h, w, c).
    matrix : np.ndarray
        3x3 affine from source corner coordinates to output corner coordinates.
    dsize : tuple[int, int]
        Output (w, h).
    interpolation : str
        ``'nearest'``, ``'linear'``, ``'area'``, ``'cubic'`` or ``'lanczos'``.
    """
    w, h = dsize
    sh, sw = arr.shape[:2]
    inv = np.linalg.inv(np.asarray(matrix, dtype=np.float64))
    xs = np.arange(w, dtype=np.float64) + 0.5
    ys = np.arange(h, dtype=np.float64) + 0.5
    wide = arr.dtype.itemsize > 2 and arr.dtype != np.float32
    work_dtype = np.float64 if wide else np.float32
    if inv[0, 1] == 0 and inv[1, 0] == 0:
        cx = inv[0, 0] * xs + inv[0, 2] - 0.5
        cy = inv[1, 1] * ys + inv[1, 2] - 0.5
        iy, wy = _taps(cy, sh, interpolation)
        ix, wx = _taps(cx, sw, interpolation)
        if interpolation == 'nearest':
            return arr.take(iy[0], axis=0).take(ix[0], axis=1)
        rows = _weighted(arr, iy, wy.astype(work_dtype), axis=0)
        out = _weighted(rows, ix, wx.astype(work_dtype), axis=1)
        return _to_dtype(out, arr.dtype)
    gx, gy = np.meshgrid(xs, ys)
    cx = inv[0, 0] * gx + inv[0, 1] * gy + inv[0, 2] - 0.5
    cy = inv[1, 0] * gx + inv[1, 1] * gy + inv[1, 2] - 0.5
    iy, wy = _taps(cy, sh, interpolation)
    ix, wx = _taps(cx, sw, interpolation)
    if interpolation == 'nearest':
        return arr[iy[0], ix[0]]
    out = np.zeros((h, w, arr.shape[2]), dtype=work_dtype)
    for a in range(iy.shape[0]):
        for b in range(ix.shape[0]):
            weight = (wy[a] * wx[b]).astype(work_dtype)
            out += arr[iy[a], ix[b]] * weight[..., None]
    return _to_dtype(out, arr.dtype)


def _weighted(arr: np.ndarray, idx: np.ndarray, weights: np.ndarray, axis: int) -> np.ndarray:
    """Sum over taps of ``arr`` gathered at ``idx[t]`` along ``axis`` times ``weights[t]`` (in ``weights``' dtype)."""
    shape = [1] * arr.ndim
    shape[axis] = -1
    out = np.take(arr, idx[0], axis=axis).astype(weights.dtype, copy=False)
    out *= weights[0].reshape(shape)
    buf = np.empty_like(out)
    for t in range(1, idx.shape[0]):
        np.multiply(np.take(arr, idx[t], axis=axis), weights[t].reshape(shape), out=buf)
        out += buf
    return out
