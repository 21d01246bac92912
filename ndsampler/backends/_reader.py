"""Reading sources and cache files (local or remote) through ``ndsampler.delayed.readers``."""
from __future__ import annotations

from typing import Optional

import numpy as np

from ndsampler._typing import PathLike, Slices
from ndsampler.delayed.readers import Header, get_reader

__all__ = ['Header', 'read_header', 'read_window', 'read_source']


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
