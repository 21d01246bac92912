"""Quantize float rasters to integers (and back) with a recorded, kwcoco-style quantization dict."""
from __future__ import annotations

from typing import Any

import numpy as np

from ndsampler.errors import InvalidOptionError
from ndsampler.stitch._canvas import release_pages, row_blocks

__all__ = ['quantize_image', 'dequantize', 'quantization_for', 'apply_quantization', 'valid_minmax']


def quantization_for(old_min: float, old_max: float, quantize_dtype: Any = np.int16) -> dict[str, Any]:
    """The quantization dict that maps ``[old_min, old_max]`` onto an integer dtype.

    Signed dtypes use ``[0, max]`` for values and ``max(-9999, min)`` as nodata;
    unsigned dtypes use ``[1, max]`` for values and ``0`` as nodata (the kwcoco convention).
    A degenerate range (``old_min == old_max``) is widened to ``old_min + 1``.

    Example
    -------
    >>> quantization_for(0.0, 1.0, np.uint8)
    {'orig_min': 0.0, 'orig_max': 1.0, 'quant_min': 1, 'quant_max': 255, 'nodata': 0}
    """
    dtype = np.dtype(quantize_dtype)
    if dtype.kind not in 'iu':
        raise InvalidOptionError('quantize_dtype', dtype.name, 'an integer dtype (e.g. int16, uint8)')
    old_min, old_max = float(old_min), float(old_max)
    if not (np.isfinite(old_min) and np.isfinite(old_max)) or old_max < old_min:
        raise InvalidOptionError('(old_min, old_max)', (old_min, old_max), 'finite values with old_min <= old_max')
    if old_max == old_min:
        old_max = old_min + 1.0
    info = np.iinfo(dtype)
    if dtype.kind == 'u':
        quant_min, nodata = 1, 0
    else:
        quant_min, nodata = 0, max(-9999, int(info.min))
    return {'orig_min': old_min, 'orig_max': old_max, 'quant_min': quant_min,
            'quant_max': int(info.max), 'nodata': nodata}


def _work_dtype(quantization: dict[str, Any], data_dtype: np.dtype) -> np.dtype:
    """float32 while it represents every quantized level exactly, else float64."""
    levels = quantization['quant_max'] - quantization['quant_min']
    return np.dtype(np.float64) if levels > 2 ** 24 or data_dtype == np.float64 else np.dtype(np.float32)


def apply_quantization(imdata: np.ndarray, quantization: dict[str, Any], dtype: np.dtype) -> np.ndarray:
    """Quantize ``imdata`` with a known quantization dict (values rounded, NaN -> nodata)."""
    q = quantization
    work = _work_dtype(q, imdata.dtype)
    factor = (q['quant_max'] - q['quant_min']) / (q['orig_max'] - q['orig_min'])
    invalid = np.isnan(imdata)
    scaled = imdata.astype(work)
    np.clip(scaled, q['orig_min'], q['orig_max'], out=scaled)
    scaled -= q['orig_min']
    scaled *= factor
    scaled += q['quant_min']
    np.rint(scaled, out=scaled)
    np.clip(scaled, q['quant_min'], q['quant_max'], out=scaled)
    scaled[invalid] = q['nodata']
    return scaled.astype(dtype)


def valid_minmax(imdata: np.ndarray) -> tuple[float, float] | None:
    """min / max of the non-NaN values (None when there are none), block by block.

    Works on large ``np.memmap`` arrays in bounded memory (their pages are released per block).
    """
    if imdata.ndim == 0:
        imdata = imdata.reshape(1)
    lo, hi = np.inf, -np.inf
    for rows in row_blocks(imdata.shape, imdata.dtype.itemsize):
        block = np.asarray(imdata[rows])
        if block.size and not np.isnan(block).all():
            lo, hi = min(lo, float(np.nanmin(block))), max(hi, float(np.nanmax(block)))
        release_pages(imdata, rows)
    return None if lo > hi else (lo, hi)


def quantize_image(
    imdata: np.ndarray,
    old_min: float | None = None,
    old_max: float | None = None,
    quantize_dtype: Any = np.int16,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Quantize a float image to integers, recording how to map it back.

    Parameters
    ----------
    imdata : ndarray
        Float data of any shape; NaN marks missing pixels and becomes ``nodata``.
    old_min, old_max : float | None
        The range mapped onto the integer range; values outside are clipped.
        None takes the min / max of the valid data (0 and 1 when there is none).
    quantize_dtype : dtype
        Integer output dtype.

    Returns
    -------
    quant_data : ndarray
        Rounded integer data; :func:`dequantize` recovers ``imdata`` within half a
        quantization step ``(orig_max - orig_min) / (quant_max - quant_min)``.
    quantization : dict
        ``orig_min``, ``orig_max``, ``quant_min``, ``quant_max``, ``nodata``.

    Example
    -------
    >>> data = np.array([[0.0, 0.5], [1.0, np.nan]], dtype=np.float32)
    >>> quant, info = quantize_image(data, quantize_dtype=np.uint8)
    >>> quant.tolist()
    [[1, 128], [255, 0]]
    >>> recon = dequantize(quant, info)
    >>> bool(np.nanmax(np.abs(recon - data)) <= 0.5 / 254), bool(np.isnan(recon[1, 1]))
    (True, True)
    """
    imdata = np.asarray(imdata)
    if old_min is None or old_max is None:
        found = valid_minmax(imdata) or (0.0, 1.0)
        old_min = found[0] if old_min is None else old_min
        old_max = found[1] if old_max is None else old_max
    quantization = quantization_for(old_min, old_max, quantize_dtype)
    return apply_quantization(imdata, quantization, np.dtype(quantize_dtype)), quantization


def dequantize(data: np.ndarray, quantization: dict[str, Any], dtype: Any = np.float32) -> np.ndarray:
    """Map quantized integers back to floats; ``nodata`` becomes NaN.

    ``value = (q - quant_min) * (orig_max - orig_min) / (quant_max - quant_min) + orig_min``.

    Parameters
    ----------
    data : ndarray
        Integer data written by :func:`quantize_image`.
    quantization : dict
        Its quantization dict (``nodata`` optional).
    dtype : dtype
        Float output dtype.

    Returns
    -------
    ndarray
    """
    missing = [k for k in ('orig_min', 'orig_max', 'quant_min', 'quant_max') if k not in quantization]
    if missing:
        raise InvalidOptionError('quantization', quantization, f'a dict with keys {missing} as well')
    q = quantization
    scale = (q['orig_max'] - q['orig_min']) / (q['quant_max'] - q['quant_min'])
    data = np.asarray(data)
    out = data.astype(_work_dtype(q, np.dtype(dtype)))
    out -= q['quant_min']
    out *= scale
    out += q['orig_min']
    out = out.astype(dtype, copy=False)
    nodata = q.get('nodata', None)
    if nodata is not None:
        out[data == nodata] = np.nan
    return out
