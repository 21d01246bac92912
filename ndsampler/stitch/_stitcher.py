"""Stitcher: accumulate window outputs into a full canvas and average them by weight."""
from __future__ import annotations

import functools
import shutil
import tempfile
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ndsampler._typing import PathLike, Slices, WindowDims
from ndsampler.errors import InvalidOptionError, StitchingError, WindowError
from ndsampler.stitch._canvas import TorchOps, coerce_ops, disk_array, release_pages, row_blocks

__all__ = ['Stitcher', 'edge_weights', 'EDGE_KINDS', 'FLOAT_DTYPES', 'coerce_float_dtype']

#: Edge down-weighting profiles accepted by :func:`edge_weights`.
EDGE_KINDS = ('ramp', 'gaussian')
#: Canvas dtypes (numpy and torch both have them).
FLOAT_DTYPES = ('float16', 'float32', 'float64')
#: Bytes a disk canvas may have mapped in before its pages are released.
_MAPPED_BUDGET = 128 * 2 ** 20


def _profile(n: int, kind: str, margin: float, sigma: float) -> np.ndarray:
    """The 1D weight profile of one window axis of length ``n``."""
    idx = np.arange(n, dtype=np.float64)
    if kind == 'ramp':
        m = np.floor(margin * n)
        dist = np.minimum(idx, n - 1 - idx)
        return np.minimum(1.0, (dist + 1.0) / (m + 1.0))
    centre = (n - 1) / 2.0
    s = max(sigma * n, 1e-6)
    return np.exp(-0.5 * ((idx - centre) / s) ** 2)


@functools.lru_cache(maxsize=64)
def _edge_weights_cached(dims: tuple[int, int], kind: str, margin: float, sigma: float, dtype: str) -> np.ndarray:
    out = np.outer(_profile(dims[0], kind, margin, sigma), _profile(dims[1], kind, margin, sigma)).astype(dtype)
    out.flags.writeable = False
    return out


def edge_weights(
    window_dims: WindowDims,
    kind: str = 'ramp',
    margin: float = 0.25,
    sigma: float = 0.25,
    dtype: Any = np.float32,
) -> np.ndarray:
    """Per-pixel weights for one window that favour its centre over its border.

    The weight is a product of one profile per axis. For an axis of length ``n``
    and pixel index ``i`` (distance to the nearer border ``d = min(i, n - 1 - i)``):

    * ``'ramp'``: ``min(1, (d + 1) / (m + 1))`` with ``m = floor(margin * n)``;
      rises linearly over the outer ``m`` pixels and is 1 inside; never 0.
    * ``'gaussian'``: ``exp(-((i - (n - 1) / 2) / (sigma * n)) ** 2 / 2)``; 1 at the
      centre, ``exp(-1 / (8 sigma^2))`` at the border (0.135 for ``sigma=0.25``).

    Parameters
    ----------
    window_dims : (h, w)
        Window shape.
    kind : 'ramp' | 'gaussian'
        Profile.
    margin : float
        Ramp width as a fraction of each axis.
    sigma : float
        Gaussian standard deviation as a fraction of each axis.
    dtype : dtype
        Output dtype.

    Returns
    -------
    ndarray
        A read-only ``(h, w)`` array in ``(0, 1]`` (cached: do not modify).

    Example
    -------
    >>> edge_weights((1, 5), margin=0.4, dtype=np.float64).round(3).tolist()
    [[0.333, 0.667, 1.0, 0.667, 0.333]]
    """
    if kind not in EDGE_KINDS:
        raise InvalidOptionError('kind', kind, EDGE_KINDS)
    dims = tuple(int(d) for d in window_dims)
    if len(dims) != 2 or min(dims) < 1:
        raise WindowError(f'window_dims={tuple(window_dims)!r} must be two positive sizes (h, w)')
    return _edge_weights_cached(dims, kind, float(margin), float(sigma), np.dtype(dtype).name)


def coerce_float_dtype(dtype: Any) -> np.dtype:
    """``dtype`` as a numpy float dtype of :data:`FLOAT_DTYPES`.

    Raises
    ------
    InvalidOptionError
        Anything numpy does not know or that is not one of :data:`FLOAT_DTYPES`.

    Example
    -------
    >>> coerce_float_dtype(np.float64)
    dtype('float64')
    >>> coerce_float_dtype('banana')
    Traceback (most recent call last):
    ...
    ndsampler.errors.InvalidOptionError: invalid dtype='banana'; allowed: 'float16', 'float32', 'float64'
    """
    try:
        out = np.dtype(dtype)
    except TypeError:
        out = None
    if out is None or out.name not in FLOAT_DTYPES:
        raise InvalidOptionError('dtype', dtype, FLOAT_DTYPES)
    return out


def _check_shape(shape: Any) -> tuple[int, ...]:
    """``(H, W)`` or ``(H, W, C)`` of positive integers, as plain ints."""
    try:
        dims = tuple(shape)
    except TypeError:
        dims = ()
    if len(dims) not in (2, 3) or not all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d >= 1
                                          for d in dims):
        raise WindowError(f'shape={shape!r} is not allowed; allowed: (H, W) or (H, W, C) of positive integers')
    return tuple(int(d) for d in dims)


def _check_weight_range(lo: float, hi: float) -> None:
    """Weights must be finite and >= 0 (0 means 'ignore this pixel')."""
    if not (lo >= 0 and hi < np.inf):
        raise StitchingError(f'weights must be finite and >= 0 (0 is allowed); got min={lo!r}, max={hi!r}')


def _normalize_slices(slices: Sequence[slice], canvas_hw: tuple[int, int]) -> tuple[tuple[int, int], ...]:
    """(start, stop) per spatial axis; None bounds mean the canvas edge, negatives are canvas coordinates."""
    if len(slices) != 2 or not all(isinstance(s, slice) for s in slices):
        raise WindowError(f'slices={slices!r} must be two slices (y, x)')
    bounds = []
    for sl, size in zip(slices, canvas_hw):
        if sl.step not in (None, 1):
            raise WindowError(f'slices={slices!r}: step {sl.step!r} is not allowed (only 1)')
        start = 0 if sl.start is None else int(sl.start)
        stop = size if sl.stop is None else int(sl.stop)
        if stop < start:
            raise WindowError(f'slices={slices!r}: stop {stop} is before start {start}')
        bounds.append((start, stop))
    return tuple(bounds)


def _resolve_edge_kind(downweight_edges: bool | str) -> str | None:
    if downweight_edges is False or downweight_edges is None:
        return None
    if downweight_edges is True:
        return 'ramp'
    if downweight_edges not in EDGE_KINDS:
        raise InvalidOptionError('downweight_edges', downweight_edges, (False, True) + EDGE_KINDS)
    return downweight_edges


class Stitcher:
    """Accumulate (possibly overlapping) windows into one canvas; :meth:`finalize` averages them.

    The canvas holds ``sum(weight * data)`` and ``sum(weight)``; the result is their
    ratio, NaN where nothing (or only zero weight) was added. NaN values in added
    data are treated as missing: that pixel gets zero weight.

    Parameters
    ----------
    shape : (H, W) | (H, W, C)
        Output shape (positive integers).
    dtype : dtype
        Canvas and result dtype, one of :data:`FLOAT_DTYPES`.
    device : 'numpy' | torch device
        ``'numpy'`` keeps numpy arrays; a torch device (``'cpu'``, ``'cuda:0'``) accumulates
        torch tensors there and :meth:`finalize` returns a tensor on it.
    memmap : bool | PathLike
        True keeps the sum and weight canvases in ``np.memmap`` files in a new temporary
        folder; a path keeps them in that folder (created if needed). Files are removed by
        :meth:`finalize` (the returned memmap stays readable: POSIX unlinked-file semantics).

    Example
    -------
    >>> s = Stitcher((2, 4))
    >>> s.add((slice(0, 2), slice(0, 3)), np.full((2, 3), 1.0))
    >>> s.add((slice(0, 2), slice(2, 4)), np.full((2, 2), 3.0))
    >>> s.finalize()[0].tolist()
    [1.0, 1.0, 2.0, 3.0]
    """

    def __init__(self, shape: Sequence[int], dtype: Any = 'float32', device: Any = 'numpy',
                 memmap: bool | PathLike = False) -> None:
        shape = _check_shape(shape)
        self.dtype = coerce_float_dtype(dtype)
        self.shape = shape
        self._ops = coerce_ops(device)
        self.device = self._ops.device
        self._owned_folder: Path | None = None
        self.folder: Path | None = None
        if memmap is not False and memmap is not None:
            if isinstance(self._ops, TorchOps):
                raise InvalidOptionError('memmap', memmap, "False with a torch device (disk canvases need device='numpy')")
            if memmap is True:
                self.folder = self._owned_folder = Path(tempfile.mkdtemp(prefix='ndsampler_stitch_'))
            else:
                self.folder = Path(memmap)
                self.folder.mkdir(parents=True, exist_ok=True)
            self.sums = disk_array(self.folder, 'sums', shape, self.dtype)
            self.weights = disk_array(self.folder, 'weights', shape[:2], self.dtype)
        else:
            self.sums = self._ops.zeros(shape, self.dtype)
            self.weights = self._ops.zeros(shape[:2], self.dtype)
        self._mapped_bytes = 0
        self._finalized = False
        self._device_weights: dict[tuple, Any] = {}

    @property
    def is_memmap(self) -> bool:
        """True when the canvases live in files."""
        return self.folder is not None

    @property
    def canvas_paths(self) -> list[Path]:
        """The files backing the canvases (empty for in-memory canvases or after finalize)."""
        if not self.is_memmap or self._finalized:
            return []
        return [Path(self.sums.filename), Path(self.weights.filename)]

    def _edge(self, dims: tuple[int, int], kind: str) -> Any:
        key = (dims, kind)
        if key not in self._device_weights:
            self._device_weights[key] = self._ops.asarray(edge_weights(dims, kind, dtype=self.dtype), self.dtype)
        return self._device_weights[key]

    def _coerce_weights(self, weights: Any, hw: tuple[int, int]) -> Any:
        if np.isscalar(weights) or getattr(weights, 'ndim', None) == 0:
            weight = float(weights)
            _check_weight_range(weight, weight)
            return weight
        weights = self._ops.asarray(weights, self.dtype)
        if weights.ndim == 3 and weights.shape[2] == 1:
            weights = weights[..., 0]
        if tuple(weights.shape) != hw:
            raise StitchingError(f'weights shape {tuple(weights.shape)} does not match the data window {hw} '
                                 '(allowed: a scalar, (h, w) or (h, w, 1))')
        if min(hw) > 0:
            _check_weight_range(float(weights.min()), float(weights.max()))
        return weights

    def add(self, slices: Slices, data: Any, weights: Any = None, downweight_edges: bool | str = False) -> None:
        """Add ``data`` at ``slices`` (canvas coordinates), weighted.

        Parameters
        ----------
        slices : (slice, slice)
            ``(y, x)`` window in canvas coordinates; may extend past the canvas (negative
            starts are outside, not Python wrap-around): the outside part of ``data`` is dropped.
        data : ndarray | Tensor
            ``(h, w)`` or ``(h, w, C)`` matching the slices and the canvas channels.
        weights : float | ndarray | None
            A scalar or per-pixel ``(h, w)`` / ``(h, w, 1)`` weights (default 1); finite
            and >= 0 (0 ignores a pixel), else :class:`StitchingError` names the minimum.
        downweight_edges : bool | 'ramp' | 'gaussian'
            Multiply the weights by :func:`edge_weights` of the (unclipped) window (True = ramp).
        """
        if self._finalized:
            raise StitchingError('this Stitcher was already finalized; create a new one to add more data')
        ops = self._ops
        data = ops.asarray(data, self.dtype)
        (y0, y1), (x0, x1) = _normalize_slices(slices, self.shape[:2])
        hw = (y1 - y0, x1 - x0)
        expect = hw + self.shape[2:]
        shape = tuple(data.shape)
        if shape != expect and not (len(self.shape) == 3 and self.shape[2] == 1 and shape == hw):
            raise StitchingError(f'data shape {shape} does not match slices {tuple(slices)!r}, '
                                 f'which need data of shape {expect}')
        if data.ndim == 2 and len(self.shape) == 3:
            data = data[..., None]
        weight = 1.0 if weights is None else self._coerce_weights(weights, hw)
        kind = _resolve_edge_kind(downweight_edges)
        if kind is not None:
            weight = self._edge(hw, kind) * weight

        H, W = self.shape[:2]
        cy0, cy1, cx0, cx1 = max(y0, 0), min(y1, H), max(x0, 0), min(x1, W)
        if cy0 >= cy1 or cx0 >= cx1:
            return
        inner = (slice(cy0 - y0, cy1 - y0), slice(cx0 - x0, cx1 - x0))
        data = data[inner]
        if not isinstance(weight, float):
            weight = weight[inner]
        nan = ops.isnan(data)
        if nan.any():
            if data.ndim == 3:
                nan = ops.any_last(nan)
            data = ops.nan_fill(data, nan[..., None] if data.ndim == 3 else nan)
            weight = ops.asarray(~nan, self.dtype) * weight if isinstance(weight, float) else ops.nan_fill(weight, nan)
        canvas = (slice(cy0, cy1), slice(cx0, cx1))
        if isinstance(weight, float):
            self.sums[canvas] += data if weight == 1.0 else data * weight
            self.weights[canvas] += weight
        else:
            self.sums[canvas] += data * weight[..., None] if data.ndim == 3 else data * weight
            self.weights[canvas] += weight
        if self.is_memmap:
            self._mapped_bytes += data.nbytes + (cy1 - cy0) * (cx1 - cx0) * self.dtype.itemsize
            if self._mapped_bytes > _MAPPED_BUDGET:
                self.release_pages()

    def release_pages(self) -> None:
        """Drop the disk canvases' pages from this process's memory (data kept); no-op in RAM."""
        if self.is_memmap and not self._finalized:
            release_pages(self.sums)
            release_pages(self.weights)
        self._mapped_bytes = 0

    def finalize(self) -> Any:
        """The weighted mean ``sums / weights``, NaN where the weight is 0; frees the weights.

        Computed in place in the sum canvas (block by block for disk canvases, whose
        files are then removed). The stitcher cannot be used afterwards.

        Returns
        -------
        ndarray | np.memmap | Tensor
            Of ``shape``; a tensor on ``device`` for torch devices.
        """
        if self._finalized:
            raise StitchingError('this Stitcher was already finalized')
        result, weights = self.sums, self.weights
        if self.is_memmap:
            for rows in row_blocks(self.shape, self.dtype.itemsize):
                self._ops.divide_(result[rows], weights[rows])
                result.flush()
                release_pages(result, rows)
                release_pages(weights, rows)
            self._remove_files()
        else:
            self._ops.divide_(result, weights)
        self._finalized = True
        self.sums = self.weights = None
        self._device_weights.clear()
        return result

    def _remove_files(self) -> None:
        for arr in (self.sums, self.weights):
            Path(arr.filename).unlink(missing_ok=True)
        if self._owned_folder is not None:
            shutil.rmtree(self._owned_folder, ignore_errors=True)
            self._owned_folder = None

    def __del__(self) -> None:
        if getattr(self, 'folder', None) is not None and not getattr(self, '_finalized', True):
            self._remove_files()
