"""A cache file opened lazily as a read-only ``(H, W, C)`` array-like (what ``Frames.load_image`` returns for COGs)."""
from __future__ import annotations

import os
from typing import Any

import numpy as np

from ndsampler._typing import PathLike
from ndsampler.delayed.readers import Header, get_reader

__all__ = ['LazyRaster']


class LazyRaster:
    """A raster file as a read-only ``(H, W, C)`` array-like; indexing reads only the window asked for.

    The role of ndsampler 0.8's ``LazyGDalFrameFile``: ``im[y0:y1, x0:x1]`` (and an optional
    band index) reads that window through the pooled reader, ``np.asarray(im)`` reads it
    all; ``shape``, ``dtype``, ``ndim`` and ``len`` come from the header. Pickles as its path.

    Parameters
    ----------
    fpath : PathLike
        A file :func:`ndsampler.delayed.readers.get_reader` opens (a COG cache file).

    Example
    -------
    >>> import tempfile, pathlib, numpy as np
    >>> from ndsampler.io import write_cog
    >>> data = np.arange(6 * 8 * 2, dtype=np.uint16).reshape(6, 8, 2)
    >>> im = LazyRaster(write_cog(pathlib.Path(tempfile.mkdtemp()) / 'a.tif', data, overviews=0))
    >>> im.shape, im.dtype
    ((6, 8, 2), dtype('uint16'))
    >>> bool((im[1:3, -2:] == data[1:3, -2:]).all()), int(im[2, 3, 1]) == int(data[2, 3, 1]), im[::2, ::-3, 0].shape
    (True, True, (3, 3))
    """

    __slots__ = ('fpath',)

    def __init__(self, fpath: PathLike):
        self.fpath = os.fspath(fpath)

    def __getstate__(self) -> str:
        return self.fpath

    def __setstate__(self, state: str) -> None:
        self.fpath = state

    def header(self) -> Header:
        """The file's header (read once per process by the reader pool)."""
        return get_reader(self.fpath).header()

    @property
    def shape(self) -> tuple[int, int, int]:
        header = self.header()
        return (header.dsize[1], header.dsize[0], header.num_bands)

    @property
    def dtype(self) -> np.dtype:
        return self.header().dtype

    @property
    def ndim(self) -> int:
        return 3

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        return f'<LazyRaster({self.fpath!r})>'

    def __getitem__(self, index: Any) -> np.ndarray:
        h, w, c = self.shape
        index = _expand(index)
        (sl_y, post_y), (sl_x, post_x) = _axis(index[0], h, 0), _axis(index[1], w, 1)
        band_index, bands = index[2], None
        if isinstance(band_index, (int, np.integer)):  # one band: read only it
            bands, band_index = [int(np.arange(c)[band_index])], 0
        out = get_reader(self.fpath).read((sl_y, sl_x), bands=bands)
        return out[post_y, post_x, band_index]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        data = self[:, :]
        return data if dtype is None else data.astype(dtype, copy=False)


def _expand(index: Any) -> tuple[Any, Any, Any]:
    """``index`` as three per-axis items (y, x, band), ``Ellipsis`` and missing axes filled with ``:``."""
    items = list(index) if isinstance(index, tuple) else [index]
    if any(item is Ellipsis for item in items):
        at = next(k for k, item in enumerate(items) if item is Ellipsis)
        items[at:at + 1] = [slice(None)] * (3 - len(items) + 1)
    if len(items) > 3:
        raise IndexError(f'too many indices for an (H, W, C) raster: {index!r}; allowed: up to 3')
    return tuple(items + [slice(None)] * (3 - len(items)))


def _axis(item: Any, n: int, axis: int) -> tuple[slice, Any]:
    """The in-bounds slice to read along one axis and the index that picks the asked-for items from it."""
    if isinstance(item, slice):
        start, stop, step = item.indices(n)
        picked = range(start, stop, step)
        if not picked:
            return slice(0, 0), slice(None)
        lo, hi = min(picked), max(picked) + 1
        if step == 1:
            return slice(lo, hi), slice(None)
        first, last = picked[0] - lo, picked[-1] - lo
        end = last + 1 if step > 0 else (last - 1 if last >= 1 else None)
        return slice(lo, hi), slice(first, end, step)
    try:
        k = int(item)
    except TypeError:
        raise IndexError(f'index {item!r} of axis {axis}; allowed: an int or a slice') from None
    if not -n <= k < n:
        raise IndexError(f'index {k} is out of bounds for axis {axis} with size {n}')
    k %= n
    return slice(k, k + 1), 0
