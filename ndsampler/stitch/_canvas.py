"""Canvas storage for stitching: array backends (numpy / torch) and disk-backed canvases.

Disk canvases are ``np.memmap`` files. Pages a process has touched in a shared file
mapping count towards its RSS until the kernel drops them, so :func:`release_pages`
tells the kernel (``madvise(MADV_DONTNEED)``) that the process is done with them;
dirty data stays in the page cache and reaches the file, only the mapping is dropped.
"""
from __future__ import annotations

import mmap
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from ndsampler.errors import InvalidOptionError

__all__ = ['ArrayOps', 'TorchOps', 'coerce_ops', 'disk_array', 'release_pages', 'row_blocks']

_PAGE = mmap.PAGESIZE
#: Bytes per block when a canvas is processed block by block.
BLOCK_BYTES = 32 * 2 ** 20


class ArrayOps:
    """The few array operations stitching needs, on numpy."""

    device: Any = 'numpy'

    def zeros(self, shape: tuple[int, ...], dtype: Any) -> Any:
        return np.zeros(shape, dtype=dtype)

    def asarray(self, data: Any, dtype: Any) -> Any:
        if hasattr(data, 'detach'):  # a torch tensor given to a numpy stitcher
            data = data.detach().cpu().numpy()
        return np.asarray(data, dtype=dtype)

    def isnan(self, data: Any) -> Any:
        return np.isnan(data)

    def any_last(self, data: Any) -> Any:
        return data.any(axis=-1)

    def nan_fill(self, data: Any, mask: Any) -> Any:
        return np.where(mask, 0, data)

    def divide_(self, total: Any, weight: Any) -> Any:
        """In place ``total /= weight`` where ``weight > 0``, NaN elsewhere; returns ``total``."""
        empty = weight == 0
        if total.ndim == 3:
            weight, empty = weight[..., None], empty[..., None]
        np.divide(total, weight, out=total, where=~empty)
        np.copyto(total, np.nan, where=np.broadcast_to(empty, total.shape))
        return total


class TorchOps(ArrayOps):
    """The same operations on torch tensors on one device (CPU or CUDA)."""

    def __init__(self, device: str) -> None:
        import torch
        self.torch = torch
        self.device = torch.device(device)

    def _dtype(self, dtype: Any) -> Any:
        return getattr(self.torch, np.dtype(dtype).name)

    def zeros(self, shape: tuple[int, ...], dtype: Any) -> Any:
        return self.torch.zeros(shape, dtype=self._dtype(dtype), device=self.device)

    def asarray(self, data: Any, dtype: Any) -> Any:
        if isinstance(data, np.ndarray) and not data.flags.writeable:
            data = data.copy()
        return self.torch.as_tensor(data, dtype=self._dtype(dtype), device=self.device)

    def isnan(self, data: Any) -> Any:
        return self.torch.isnan(data)

    def any_last(self, data: Any) -> Any:
        return data.any(dim=-1)

    def nan_fill(self, data: Any, mask: Any) -> Any:
        return self.torch.where(mask, self.torch.zeros((), dtype=data.dtype, device=data.device), data)

    def divide_(self, total: Any, weight: Any) -> Any:
        empty = weight == 0
        if total.ndim == 3:
            weight, empty = weight[..., None], empty[..., None]
        total.div_(weight.masked_fill(empty, 1))
        total.masked_fill_(empty.expand_as(total), float('nan'))
        return total


def coerce_ops(device: Any) -> ArrayOps:
    """``'numpy'`` / None -> numpy; a torch device (``'cpu'``, ``'cuda:0'``, ``torch.device``) -> torch."""
    if device is None or (isinstance(device, str) and device == 'numpy'):
        return ArrayOps()
    try:
        return TorchOps(device)
    except ImportError as ex:
        raise InvalidOptionError('device', device, "'numpy' (torch is not installed)") from ex
    except (RuntimeError, TypeError) as ex:
        raise InvalidOptionError('device', device, "'numpy' or a torch device such as 'cpu' or 'cuda:0'") from ex


def disk_array(folder: Path, stem: str, shape: tuple[int, ...], dtype: Any) -> np.memmap:
    """A zero-filled ``np.memmap`` in a new uniquely named file in ``folder`` (sparse on disk)."""
    fd, fpath = tempfile.mkstemp(prefix=stem + '_', suffix='.dat', dir=folder)
    os.close(fd)
    return np.memmap(fpath, mode='w+', dtype=dtype, shape=shape)


def _mapping(arr: np.ndarray) -> mmap.mmap | None:
    while arr is not None:
        mm = getattr(arr, '_mmap', None)
        if mm is not None:
            return mm
        arr = arr.base if isinstance(arr.base, np.ndarray) else None
    return None


def release_pages(arr: np.ndarray, rows: slice | None = None) -> None:
    """Drop this process's mapping of a memmap's pages (all, or those of ``rows``), keeping the data.

    ``arr`` is a whole memmap as :func:`disk_array` makes it (its data starts the mapping). A no-op for in-memory arrays and on platforms without ``MADV_DONTNEED``.
    """
    mm = _mapping(arr)
    advice = getattr(mmap, 'MADV_DONTNEED', None)
    if mm is None or advice is None or len(mm) == 0:
        return
    if rows is None:
        mm.madvise(advice)
        return
    row_bytes = arr.strides[0]
    start = (rows.start * row_bytes) // _PAGE * _PAGE
    stop = min(len(mm), -(-rows.stop * row_bytes // _PAGE) * _PAGE)
    if stop > start:
        mm.madvise(advice, start, stop - start)


def row_blocks(shape: tuple[int, ...], itemsize: int, block_bytes: int = BLOCK_BYTES) -> Iterator[slice]:
    """Row slices covering ``shape[0]``, each about ``block_bytes`` of an array of that shape."""
    row_bytes = max(1, int(np.prod(shape[1:], dtype=np.int64)) * itemsize)
    step = max(1, block_bytes // row_bytes)
    for y0 in range(0, shape[0], step):
        yield slice(y0, min(y0 + step, shape[0]))
