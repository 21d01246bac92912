"""Writing and recognising Cloud-Optimized GeoTIFFs through rasterio/GDAL."""
from __future__ import annotations

import contextlib
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import rasterio.shutil
import rasterio.windows
from rasterio.errors import NotGeoreferencedWarning

from ndsampler._typing import PathLike
from ndsampler.errors import InvalidOptionError
from ndsampler.io.atomic import atomic_write
from ndsampler.io.remote import open_raster

__all__ = ['write_cog', 'is_cog', 'COG_COMPRESSIONS', 'COG_LEVEL_RANGES']

#: Compressions the GDAL COG driver accepts (JPEG and WEBP are lossy).
COG_COMPRESSIONS = ('NONE', 'ZSTD', 'DEFLATE', 'LZW', 'LZMA', 'PACKBITS', 'JPEG', 'WEBP', 'LERC')
#: Inclusive ``(min, max)`` compression ``level`` per codec that has one.
COG_LEVEL_RANGES = {'ZSTD': (1, 22), 'DEFLATE': (1, 12), 'LZMA': (0, 9)}
_OVERVIEW_RESAMPLING = ('NEAREST', 'AVERAGE', 'BILINEAR', 'CUBIC', 'LANCZOS', 'MODE', 'RMS')


def _as_hwc(data: np.ndarray) -> np.ndarray:
    if data.ndim == 2:
        return data[:, :, None]
    if data.ndim != 3:
        raise InvalidOptionError('data.ndim', data.ndim, [2, 3])
    return data


def write_cog(
    fpath: PathLike,
    data: np.ndarray,
    *,
    blocksize: int = 256,
    compress: str = 'ZSTD',
    overviews: int | str = 'auto',
    overview_resampling: str = 'AVERAGE',
    nodata: float | None = None,
    tags: dict[str, Any] | None = None,
    level: int | None = None,
    atomic: bool = True,
) -> Path:
    """Write an (H, W) or (H, W, C) array as a Cloud-Optimized GeoTIFF, atomically.

    Parameters
    ----------
    fpath : PathLike
        Destination; replaced atomically, never left half-written.
    data : ndarray
        Pixels; a ``np.memmap`` works and is read block by block by GDAL.
    blocksize : int
        Tile size (a multiple of 16).
    compress : str
        One of :data:`COG_COMPRESSIONS`. Integer and float data get a predictor
        for the lossless codecs that support one.
    overviews : int | 'auto'
        Number of 2x overview levels; ``'auto'`` goes down to about one tile, 0 disables.
    overview_resampling : str
        How overviews are computed.
    nodata : float | None
        Recorded nodata value.
    tags : dict | None
        Extra metadata written as GDAL tags.
    level : int | None
        Compression effort for ZSTD (1-22), DEFLATE (1-12) or LZMA (0-9); ``None``
        keeps GDAL's default. Low levels write several times faster for a few
        percent more bytes.
    atomic : bool
        True (default): write a temporary file and rename it over ``fpath``.
        False: write ``fpath`` itself, for a caller that already writes into its
        own temporary file (e.g. inside :func:`~ndsampler.io.atomic_write`).

    Returns
    -------
    Path

    Example
    -------
    >>> import tempfile, pathlib, numpy as np
    >>> fpath = pathlib.Path(tempfile.mkdtemp()) / 'a.tif'
    >>> _ = write_cog(fpath, np.zeros((600, 500, 3), np.uint8))
    >>> is_cog(fpath)
    True
    """
    compress = str(compress).upper()
    if compress not in COG_COMPRESSIONS:
        raise InvalidOptionError('compress', compress, COG_COMPRESSIONS)
    if not isinstance(blocksize, (int, np.integer)) or blocksize < 16 or blocksize % 16:
        raise InvalidOptionError('blocksize', blocksize, 'a positive multiple of 16')
    resampling = str(overview_resampling).upper()
    if resampling not in _OVERVIEW_RESAMPLING:
        raise InvalidOptionError('overview_resampling', overview_resampling, _OVERVIEW_RESAMPLING)
    data = _as_hwc(data)
    h, w, c = data.shape
    if h == 0 or w == 0:
        raise InvalidOptionError('data.shape', data.shape, 'a non-empty image')
    if data.dtype == np.bool_:
        data = data.astype(np.uint8)

    options: dict[str, Any] = {
        'BLOCKSIZE': int(blocksize),
        'COMPRESS': compress,
        'BIGTIFF': 'IF_SAFER',
        'RESAMPLING': resampling,
        'NUM_THREADS': '1',
    }
    if compress in ('ZSTD', 'DEFLATE', 'LZW', 'LZMA'):
        options['PREDICTOR'] = 'YES'
    if level is not None:
        lo, hi = COG_LEVEL_RANGES.get(compress, (None, None))
        if lo is None:
            raise InvalidOptionError('level', level,
                                     f'no level for compress={compress!r}; only for {sorted(COG_LEVEL_RANGES)}')
        if not isinstance(level, (int, np.integer)) or not lo <= level <= hi:
            raise InvalidOptionError('level', level, f'an int in [{lo}, {hi}] for compress={compress!r}')
        options['LEVEL'] = int(level)
    if overviews == 'auto':
        options['OVERVIEWS'] = 'AUTO'
    elif isinstance(overviews, (int, np.integer)) and overviews >= 0:
        if overviews == 0:
            options['OVERVIEWS'] = 'NONE'
        else:
            options['OVERVIEWS'] = 'IGNORE_EXISTING'
            options['OVERVIEW_COUNT'] = int(overviews)
    else:
        raise InvalidOptionError('overviews', overviews, "'auto' or an int >= 0")
    if compress == 'JPEG' and (data.dtype != np.uint8 or c not in (1, 3)):
        raise InvalidOptionError('compress', compress, 'JPEG needs uint8 data with 1 or 3 bands')

    profile = dict(width=w, height=h, count=c, dtype=data.dtype.name)
    if nodata is not None:
        profile['nodata'] = nodata
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', NotGeoreferencedWarning)
        with atomic_write(fpath, suffix='.tif') if atomic else contextlib.nullcontext(Path(fpath)) as tmp:
            if data.nbytes <= _IN_MEMORY_LIMIT:
                with rasterio.open('', 'w', driver='MEM', **profile) as staging:
                    # strips, so a computed or memory-mapped input is never copied whole besides the staging
                    _fill(staging, data, tags, rows=blocksize * 4)
                    rasterio.shutil.copy(staging, tmp, driver='COG', **options)
            else:
                # Large (often memory-mapped) inputs are staged in a tiled GTiff on
                # disk, strip by strip, so memory stays bounded by one strip.
                staging_fpath = tmp.with_name(tmp.name + '.staging.tif')
                try:
                    with rasterio.open(staging_fpath, 'w', driver='GTiff', tiled=True,
                                       blockxsize=blocksize, blockysize=blocksize,
                                       BIGTIFF='IF_SAFER', **profile) as staging:
                        _fill(staging, data, tags, rows=blocksize * 4)
                    rasterio.shutil.copy(staging_fpath, tmp, driver='COG', **options)
                finally:
                    staging_fpath.unlink(missing_ok=True)
    return Path(fpath)


#: Arrays larger than this many bytes are staged on disk rather than in RAM.
_IN_MEMORY_LIMIT = 256 * 2 ** 20


def _fill(dst, data: np.ndarray, tags: dict[str, Any] | None, rows: int) -> None:
    h = data.shape[0]
    for y0 in range(0, h, rows):
        y1 = min(y0 + rows, h)
        block = np.ascontiguousarray(np.asarray(data[y0:y1]).transpose(2, 0, 1))
        dst.write(block, window=rasterio.windows.Window(0, y0, data.shape[1], y1 - y0))
    if tags:
        dst.update_tags(**{k: str(v) for k, v in tags.items()})


def is_cog(fpath: PathLike) -> bool:
    """True when ``fpath`` is a tiled TIFF laid out as a Cloud-Optimized GeoTIFF.

    GDAL reports ``LAYOUT=COG`` for files whose header, IFDs and overviews come
    before the image data, as the COG driver writes them.
    """
    with open_raster(fpath) as src:
        if src.driver != 'GTiff':
            return False
        layout = src.tags(ns='IMAGE_STRUCTURE').get('LAYOUT', '')
        return layout.upper() == 'COG' and src.profile.get('tiled', False)
