"""ndsampler 0.8 path ``ndsampler.utils.util_gdal`` (see :mod:`ndsampler._compat08`).

GDAL comes through rasterio here (no ``osgeo`` bindings needed); COGs are written by
:func:`ndsampler.io.write_cog`, checked by :func:`ndsampler.io.is_cog` and read lazily by
:class:`ndsampler.frames.LazyRaster`.
"""
from __future__ import annotations

import os
from os.path import exists, join
from typing import Any, Iterator

import numpy as np
import ubelt as ub

from ndsampler.errors import ConversionError
from ndsampler.frames import LazyRaster
from ndsampler.io import write_cog
from ndsampler.utils.validate_cog import validate

__all__ = ['LazyGDalFrameFile', 'have_gdal', 'validate_nonzero_data', 'batch_convert_to_cog', 'batch_validate_cog',
           'exists', 'join', 'np', 'ub']


def have_gdal() -> bool:
    """True when GDAL (through rasterio) can read and write COGs."""
    try:
        import rasterio  # noqa: F401
    except ImportError:
        return False
    return True


class LazyGDalFrameFile(LazyRaster):
    """0.8's lazy COG file: :class:`ndsampler.frames.LazyRaster` (``shape``, ``dtype``, slicing reads only the
    window, ``np.asarray``) plus ``cog_fpath``, :meth:`demo` and :meth:`validate`."""

    @property
    def cog_fpath(self) -> str:
        return self.fpath

    @classmethod
    def demo(cls, key: str = 'astro', dsize: Any = None, dpath: Any = None) -> 'LazyGDalFrameFile':
        """A COG of ``kwimage.grab_test_image(key, dsize)``, written once into ``dpath`` (default: the user cache)."""
        import kwimage
        dpath = ub.Path(dpath if dpath is not None else ub.Path.appdir('ndsampler/demo')).ensuredir()
        fpath = dpath / f'{key}_{ub.hash_data([dsize])[:8]}.cog.tif'
        if not fpath.exists():
            write_cog(fpath, kwimage.grab_test_image(key, dsize=dsize))
        return cls(fpath)

    def validate(self, orig_fpath: Any = None, orig_data: np.ndarray | None = None) -> dict:
        """``{'status': 'pass' | 'fail', 'errors', 'warnings', 'details', 'fpath', 'orig_fpath'}``.

        Fails when the file is not a valid COG, or when it is all zeros while the original
        (``orig_data`` or the image at ``orig_fpath``) is not; all zeros without an original
        is only a warning.
        """
        info = {'errors': [], 'warnings': [], 'details': {}, 'fpath': self.fpath, 'orig_fpath': orig_fpath}
        try:
            warns, errors, info['details'] = validate(self.fpath)
            info['warnings'] += warns
            info['errors'] += errors
            if not validate_nonzero_data(self):
                if orig_data is None and orig_fpath is not None:
                    import kwimage
                    orig_data = kwimage.imread(orig_fpath)
                if orig_data is None:
                    info['warnings'].append('image appears to be all black')
                elif np.asarray(orig_data).any():
                    info['errors'].append(f'image is all zeros, but orig_sum = {np.asarray(orig_data).sum()!r}')
        except Exception as ex:  # any failure to read is a validation failure, reported, not raised
            info['errors'].append(repr(ex))
        info['status'] = 'fail' if info['errors'] else 'pass'
        return info


def validate_nonzero_data(file: Any) -> bool:
    """True when the image (an array or lazy file) has a nonzero pixel: centre windows of growing size first,
    then the whole image; False when it cannot be read."""
    try:
        cy, cx = (int(n) // 2 for n in file.shape[:2])
        for half in (8, 512, 2048, 5000):
            window = file[max(cy - half, 0):cy + half, max(cx - half, 0):cx + half]
            if np.asarray(window).any():
                return True
        return bool(np.asarray(file[:, :]).any())
    except Exception:
        return False


def batch_validate_cog(dst_fpaths: list, mode: str = 'thread', max_workers: int = 0) -> Iterator[dict]:
    """Yield :meth:`LazyGDalFrameFile.validate` of each file, in completion order."""
    jobs = ub.JobPool(mode=mode, max_workers=max_workers)
    for fpath in dst_fpaths:
        jobs.submit(_validate_worker, fpath)
    for job in jobs.as_completed():
        yield job.result()


def batch_convert_to_cog(src_fpaths: list, dst_fpaths: list, mode: str = 'process', max_workers: int = 0,
                         cog_config: dict | None = None) -> None:
    """Write each source image as a COG (skipping existing ones) and check each against its source.

    ``cog_config`` holds :func:`ndsampler.io.write_cog` keywords (``compress``,
    ``blocksize``, ``overviews``, ...). A result that does not validate raises
    :class:`ndsampler.errors.ConversionError`.
    """
    jobs = ub.JobPool(mode=mode, max_workers=max_workers)
    for src, dst in zip(src_fpaths, dst_fpaths):
        jobs.submit(_convert_worker, src, dst, dict(cog_config or {}))
    for job in jobs.as_completed():
        job.result()


def _validate_worker(fpath: Any, orig_fpath: Any = None) -> dict:
    return LazyGDalFrameFile(fpath).validate(orig_fpath=orig_fpath)


def _convert_worker(src: Any, dst: Any, cog_config: dict) -> Any:
    import kwimage
    if not os.path.exists(dst):
        write_cog(dst, kwimage.imread(src), **cog_config)
    info = _validate_worker(dst, orig_fpath=src)
    if info['status'] != 'pass':
        raise ConversionError(f'converting {src!s} to the COG {dst!s} failed: {info["errors"]}')
    return dst


def _imwrite_cloud_optimized_geotiff(fpath: Any, data: np.ndarray, compress: str = 'auto',
                                     blocksize: int = 256) -> Any:
    """Write an ``(H, W[, C])`` array as a COG (``compress='auto'``: the lossless default of :func:`write_cog`)."""
    kwargs = {} if compress in ('auto', None) else {'compress': str(compress).upper()}
    return write_cog(fpath, data, blocksize=blocksize, **kwargs)
