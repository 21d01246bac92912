"""Reading sources and cache files through ``ndsampler.delayed.readers``.

Local files go through the delayed layer's per-process reader pool. Remote
paths (``http(s)://``, ``/vsicurl/``) are opened with rasterio directly under
:func:`gdal_env`, because the pool keys readers by ``os.stat`` and ``Path``
(which folds the ``//`` of a URL); this fallback goes away once the pool
accepts GDAL virtual paths.
"""
from __future__ import annotations

import os
import warnings
from typing import Optional

import numpy as np
import rasterio
import rasterio.io
import rasterio.windows
from rasterio.errors import NotGeoreferencedWarning, RasterioIOError

from ndsampler._typing import PathLike, Slices
from ndsampler.backends._source import gdal_env, gdal_path, is_remote
from ndsampler.delayed.readers import Header, get_reader
from ndsampler.errors import ImageReadError, SourceNotFoundError

__all__ = ['Header', 'read_header', 'read_window', 'read_source', 'open_gdal']


def open_gdal(fpath: str) -> rasterio.io.DatasetReader:
    """Open a raster with rasterio (``http(s)://`` via ``/vsicurl/``), raising ndsampler errors."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', NotGeoreferencedWarning)
            return rasterio.open(gdal_path(fpath))
    except RasterioIOError as ex:
        if not is_remote(fpath) and not os.path.exists(fpath):
            raise SourceNotFoundError(f'no such file: {fpath}') from None
        raise ImageReadError(f'cannot open {fpath} as a raster: {ex}') from ex


def read_header(fpath: PathLike) -> Header:
    """Size, band count, dtype, overview count and nodata of a raster."""
    fpath = os.fspath(fpath)
    if not is_remote(fpath):
        return get_reader(fpath).header()
    with gdal_env(), open_gdal(fpath) as src:
        return Header((src.width, src.height), src.count, np.dtype(src.dtypes[0]),
                      len(src.overviews(1)), src.nodata)


def read_window(fpath: PathLike, slices: Optional[Slices] = None) -> np.ndarray:
    """Read ``(H, W, C)`` pixels of a raster, optionally only a ``(y, x)`` window."""
    fpath = os.fspath(fpath)
    if not is_remote(fpath):
        return get_reader(fpath).read(slices)
    with gdal_env(), open_gdal(fpath) as src:
        window = None
        if slices is not None:
            window = rasterio.windows.Window.from_slices(*slices[:2], height=src.height, width=src.width)
        try:
            data = src.read(window=window)
        except RasterioIOError as ex:
            raise ImageReadError(f'cannot decode {fpath}: {ex}') from ex
    return np.ascontiguousarray(data.transpose(1, 2, 0))


def read_source(fpath: PathLike) -> np.ndarray:
    """All pixels of a source for conversion; the pooled decode is released afterwards."""
    fpath = os.fspath(fpath)
    if is_remote(fpath):
        return read_window(fpath)
    reader = get_reader(fpath)
    try:
        return reader.read()
    finally:
        reader.close()
