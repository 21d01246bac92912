"""ndsampler 0.8 path ``ndsampler.utils.util_gdal`` (see :mod:`ndsampler._compat08`).

GDAL comes through rasterio here (no ``osgeo`` bindings needed); COGs are written by
:func:`ndsampler.io.write_cog` and checked by :func:`ndsampler.io.is_cog`.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import ubelt as ub

from ndsampler.io import write_cog
from ndsampler.utils.validate_cog import validate

__all__ = ['have_gdal', 'batch_validate_cog', 'np', 'ub']


def have_gdal() -> bool:
    """True when GDAL (through rasterio) can read and write COGs."""
    try:
        import rasterio  # noqa: F401
    except ImportError:
        return False
    return True


def _imwrite_cloud_optimized_geotiff(fpath: Any, data: np.ndarray, compress: str = 'auto',
                                     blocksize: int = 256) -> Any:
    """Write an ``(H, W[, C])`` array as a COG (``compress='auto'``: the lossless default of :func:`write_cog`)."""
    kwargs = {} if compress in ('auto', None) else {'compress': str(compress).upper()}
    return write_cog(fpath, data, blocksize=blocksize, **kwargs)


def batch_validate_cog(dst_fpaths: list, mode: str = 'thread', max_workers: int = 0) -> list[tuple[Any, list[str]]]:
    """``(fpath, errors)`` of every file that is not a valid COG."""
    jobs = ub.JobPool(mode=mode, max_workers=max_workers)
    for fpath in dst_fpaths:
        jobs.submit(validate, fpath).fpath = fpath
    bad = []
    for job in jobs.as_completed():
        errors = job.result()[1]
        if errors:
            bad.append((job.fpath, errors))
    return bad
