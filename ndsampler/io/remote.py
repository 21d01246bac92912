"""Remote rasters: recognising URLs and GDAL virtual paths, and the GDAL settings to read them.

Lives at the bottom layer because both the delayed readers (which open remote
COGs) and the cache backends (which validate remote cache files) need it.
"""
from __future__ import annotations

import os

import rasterio

from ndsampler._typing import PathLike

__all__ = ['GDAL_REMOTE_OPTIONS', 'is_remote', 'gdal_path', 'gdal_env']

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
