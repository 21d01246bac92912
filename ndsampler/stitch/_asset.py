"""Write a stitched result (possibly a large memmap) as a COG / tiled TIFF / PNG, optionally quantized.

Large disk-backed results are never loaded whole: min / max and quantization run
block by block, and :class:`_RowSource` hands ``write_cog`` one block of rows at a
time, releasing the memmap pages it read.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import cv2
import numpy as np
import rasterio

from ndsampler.errors import StitchingError
from ndsampler.io import atomic_write, write_cog
from ndsampler.stitch._canvas import release_pages, row_blocks
from ndsampler.stitch._quantize import apply_quantization, quantization_for, valid_minmax

__all__ = ['PROB_FORMATS', 'write_result']

#: GDAL block cache while writing a result (bytes).
GDAL_CACHE_BYTES = 128 * 2 ** 20
#: Output formats and the integer dtype each quantizes to.
PROB_FORMATS = {'cog': np.int16, 'tif': np.int16, 'png': np.uint8}


class _RowSource:
    """A read-only (H, W, C) array-like whose row blocks are computed on access.

    ``write_cog`` reads its input by row blocks (``data[y0:y1]``); the requested rows are
    computed as ``func(base[sub])`` over bounded sub-blocks, releasing the base memmap's
    pages after each, so only the returned rows are held in memory.
    """

    ndim = 3

    def __init__(self, base: np.ndarray, dtype: Any, func: Callable[[np.ndarray], np.ndarray]) -> None:
        self._base = base
        self._func = func
        self.shape = base.shape
        self.dtype = np.dtype(dtype)
        self.nbytes = int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize

    def __getitem__(self, key: Any) -> np.ndarray:
        rows, rest = (key[0], key[1:]) if isinstance(key, tuple) else (key, ())
        if not isinstance(rows, slice):
            rows = slice(rows, rows + 1) if isinstance(rows, (int, np.integer)) else rows
        rows = slice(*rows.indices(self.shape[0]))
        if rows.step != 1:
            raise StitchingError(f'row step {rows.step} is not supported by the stitched result reader')
        out = np.empty((len(range(rows.start, rows.stop)),) + self.shape[1:], self.dtype)
        for sub in row_blocks(out.shape, self._base.dtype.itemsize):
            src = slice(rows.start + sub.start, rows.start + sub.stop)
            out[sub] = self._func(np.asarray(self._base[src]))
            release_pages(self._base, src)
        return out[(slice(None),) + rest] if rest else out


def _write_png(fpath: Path, data: np.ndarray) -> None:
    if data.shape[2] not in (1, 3, 4):
        raise StitchingError(f'prob_format=png holds 1, 3 or 4 bands, not {data.shape[2]}; use cog or tif')
    if data.shape[2] == 3:
        data = data[:, :, ::-1]
    elif data.shape[2] == 4:
        data = data[:, :, [2, 1, 0, 3]]
    with atomic_write(fpath, suffix='.png') as tmp:
        if not cv2.imwrite(str(tmp), np.ascontiguousarray(data)):
            raise StitchingError(f'cv2 could not write {fpath} (dtype {data.dtype}, shape {data.shape})')


def write_result(
    fpath: Path,
    result: np.ndarray,
    prob_format: str,
    quantize: bool,
    minmax: tuple[float, float] | None = None,
    compress: str = 'DEFLATE',
    blocksize: int = 128,
    tags: dict[str, Any] | None = None,
    level: int | None = None,
) -> dict[str, Any] | None:
    """Write an (H, W, C) float result; returns the quantization dict (None when not quantized).

    Parameters
    ----------
    fpath : Path
        Destination (written atomically).
    result : ndarray
        Float data, NaN for missing; may be a ``np.memmap``.
    prob_format : 'cog' | 'tif' | 'png'
        ``tif`` is a tiled GeoTIFF without overviews; ``png`` needs ``quantize``.
    quantize : bool
        Quantize to :data:`PROB_FORMATS` ``[prob_format]`` (range ``minmax`` or the data's).
    level : int | None
        Compression level for cog / tif (see :func:`~ndsampler.io.write_cog`).
    """
    quantization = None
    source: Any = result
    if quantize:
        if minmax is None:
            minmax = valid_minmax(result) or (0.0, 1.0)
        qdtype = np.dtype(PROB_FORMATS[prob_format])
        quantization = quantization_for(minmax[0], minmax[1], qdtype)
        source = _RowSource(result, qdtype, lambda block: apply_quantization(block, quantization, qdtype))
    elif prob_format == 'png':
        raise StitchingError('prob_format=png needs quantize=True (PNG cannot hold float data)')
    elif isinstance(result, np.memmap):
        source = _RowSource(result, result.dtype, lambda block: block)
    if prob_format == 'png':
        _write_png(fpath, source[:])
        return quantization
    tags = dict(tags or {})
    if quantization is not None:
        tags['quantization'] = json.dumps(quantization)
    # GDAL's block cache defaults to 5% of RAM; cap it so huge outputs are written in bounded memory
    with rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_BYTES):
        write_cog(fpath, source, blocksize=blocksize, compress=compress, level=level,
                  overviews='auto' if prob_format == 'cog' else 0,
                  nodata=quantization['nodata'] if quantization else float('nan'), tags=tags)
    return quantization
