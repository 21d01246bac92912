"""Opening rasters: recognising URLs and GDAL virtual paths, the GDAL settings to read them, one opener.

Lives at the bottom layer because both the delayed readers (which open remote
COGs) and the cache backends (which validate remote cache files) need it.
"""
from __future__ import annotations

import os
import warnings
from typing import Any

import rasterio
import rasterio.io
from rasterio.errors import NotGeoreferencedWarning, RasterioIOError

from ndsampler._typing import PathLike
from ndsampler.errors import ImageReadError, SourceNotFoundError, raise_if_out_of_descriptors

__all__ = ['GDAL_REMOTE_OPTIONS', 'is_remote', 'gdal_path', 'gdal_env', 'open_raster']

#: GDAL settings for reading COGs over HTTP range requests (no directory
#: listing probes, only the extensions we read, a block cache for remote tiles).
GDAL_REMOTE_OPTIONS = {
    'GDAL_DISABLE_READDIR_ON_OPEN': 'EMPTY_DIR',
    'CPL_VSIL_CURL_ALLOWED_EXTENSIONS': '.tif,.tiff,.TIF,.TIFF',
    'GDAL_HTTP_MERGE_CONSECUTIVE_RANGES': 'YES',
    'GDAL_HTTP_MULTIPLEX': 'YES',
    'VSI_CACHE': 'TRUE',
}

_REMOTE_PREFIXES = ('http://', 'https://', '/vsicurl/', '/vsis3/', '/vsigs/', '/vsiaz/')


def is_remote(fpath: PathLike) -> bool:
    """True for URLs and GDAL virtual remote paths (read-only, never stat-ed).

    Example
    -------
    >>> is_remote('https://host/a.tif'), is_remote('/vsicurl/http://host/a.tif'), is_remote('/data/a.tif')
    (True, True, False)
    """
    return (fpath if isinstance(fpath, str) else os.fspath(fpath)).startswith(_REMOTE_PREFIXES)


def gdal_path(fpath: PathLike) -> str:
    """The string GDAL opens: ``http(s)://`` URLs become ``/vsicurl/`` paths (others pass through).

    Example
    -------
    >>> gdal_path('http://127.0.0.1:8000/a.tif')
    '/vsicurl/http://127.0.0.1:8000/a.tif'
    """
    text = os.fspath(fpath)
    if text.startswith(('http://', 'https://')):
        return '/vsicurl/' + text
    return text


def gdal_env() -> rasterio.Env:
    """A ``rasterio.Env`` with :data:`GDAL_REMOTE_OPTIONS` (harmless for local files)."""
    return rasterio.Env(**GDAL_REMOTE_OPTIONS)


def open_raster(fpath: PathLike, **kwargs: Any) -> rasterio.io.DatasetReader:
    """Open a raster with rasterio (``http(s)://`` via ``/vsicurl/``), raising ndsampler errors.

    Un-georeferenced images are normal here, so rasterio's warning about them is
    silenced. Remote paths need :func:`gdal_env` around the call. ``kwargs`` go
    to ``rasterio.open`` (e.g. ``overview_level``).

    Raises
    ------
    SourceNotFoundError
        A local path that does not exist.
    ImageReadError
        Anything GDAL cannot open as a raster.
    OSError
        No file descriptor left (EMFILE / ENFILE): nothing is wrong with the file.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', NotGeoreferencedWarning)
            return rasterio.open(gdal_path(fpath), **kwargs)
    except RasterioIOError as ex:
        if not is_remote(fpath) and not os.path.exists(fpath):
            raise SourceNotFoundError(f'no such file: {fpath}') from None
        raise_if_out_of_descriptors(ex, fpath)
        raise ImageReadError(f'cannot open {fpath} as a raster: {ex}') from ex
