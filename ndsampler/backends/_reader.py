"""Reading sources and cache files (local or remote) through ``ndsampler.delayed.readers``."""
from __future__ import annotations

import os
import warnings
from typing import Any, Optional

import numpy as np
import rasterio
import rasterio.io
from rasterio.errors import NotGeoreferencedWarning, RasterioIOError

from ndsampler._typing import PathLike, Slices
from ndsampler.delayed.readers import Header, get_reader
from ndsampler.errors import ImageReadError, SourceNotFoundError
from ndsampler.io.remote import gdal_path, is_remote

__all__ = ['Header', 'read_header', 'read_window', 'read_source', 'open_gdal']


def open_gdal(fpath: str, **kwargs: Any) -> rasterio.io.DatasetReader:
    """Open a raster with rasterio (``http(s)://`` via ``/vsicurl/``), raising ndsampler errors.

    For checks that need GDAL metadata the reader pool does not expose; remote
    paths need :func:`ndsampler.io.gdal_env` around the call. ``kwargs`` go to
    ``rasterio.open`` (e.g. ``overview_level``).
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', NotGeoreferencedWarning)
            return rasterio.open(gdal_path(fpath), **kwargs)
    except RasterioIOError as ex:
        if not is_remote(fpath) and not os.path.exists(fpath):
            raise SourceNotFoundError(f'no such file: {fpath}') from None
        raise ImageReadError(f'cannot open {fpath} as a raster: {ex}') from ex


def read_header(fpath: PathLike) -> Header:
    """Size, band count, dtype, overview count and nodata of a raster."""
    return get_reader(fpath).header()


def read_window(fpath: PathLike, slices: Optional[Slices] = None) -> np.ndarray:
    """Read ``(H, W, C)`` pixels of a raster, optionally only a ``(y, x)`` window."""
    return get_reader(fpath).read(slices)


def read_source(fpath: PathLike) -> np.ndarray:
    """All pixels of a source for conversion; the pooled handle or decode is released afterwards."""
    reader = get_reader(fpath)
    try:
        return reader.read()
    finally:
        reader.close()
