"""ndsampler 0.8 path ``ndsampler.utils.validate_cog`` (see :mod:`ndsampler._compat08`).

0.8 carried GDAL's COG validation script; here :func:`validate` answers with
:func:`ndsampler.io.is_cog` (GDAL's own ``LAYOUT=COG`` report, through rasterio).
"""
from __future__ import annotations

import sys
from typing import Any

from ndsampler.io import is_cog

__all__ = ['validate', 'main', 'Usage', 'ValidateCloudOptimizedGeoTIFFException', 'sys']


class ValidateCloudOptimizedGeoTIFFException(Exception):
    """The file cannot be opened as a raster."""


def validate(ds: Any, check_tiled: bool = True) -> tuple[list[str], list[str], dict]:
    """``(warnings, errors, details)`` for a file path (or an object with ``GetDescription()``, as a GDAL dataset).

    ``errors`` is empty exactly when the file is a tiled Cloud-Optimized GeoTIFF.
    ``check_tiled`` is accepted for 0.8's signature; a COG is always tiled here.
    """
    fpath = ds.GetDescription() if hasattr(ds, 'GetDescription') else ds
    try:
        ok = is_cog(fpath)
    except Exception as ex:  # rasterio raises its own RasterioIOError for unreadable files
        raise ValidateCloudOptimizedGeoTIFFException(f'cannot open {fpath!s} as a raster: {ex}') from ex
    errors = [] if ok else [f'{fpath!s} is not a tiled Cloud-Optimized GeoTIFF (GDAL does not report LAYOUT=COG)']
    return [], errors, {}


def Usage() -> int:
    """Print the command line usage; returns the exit status 1."""
    print('Usage: validate_cog.py [-q] test.tif')
    return 1


def main(argv: list[str] | None = None) -> int:
    """``validate_cog.py [-q] FILE``: exit status 0 for a valid COG, 1 otherwise."""
    args = list(sys.argv[1:] if argv is None else argv)
    quiet = '-q' in args
    files = [a for a in args if a != '-q']
    if len(files) != 1:
        return Usage()
    _, errors, _ = validate(files[0])
    if not quiet:
        print('\n'.join(errors) if errors else f'{files[0]} is a valid cloud optimized GeoTIFF')
    return 1 if errors else 0
