"""The npy backend: raw ``(H, W, C)`` arrays, memory-mapped on read."""
from __future__ import annotations

import os
from typing import List, Optional, Tuple

import numpy as np

from ndsampler.backends._base import Backend
from ndsampler.backends._checksums import Level
from ndsampler.errors import ImageReadError

__all__ = ['NpyBackend', 'BLOCK_BYTES']

_HEADER_READERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}

#: About how many bytes one checksummed row block of an npy frame holds (whole rows, at least one).
BLOCK_BYTES = 1 << 18


class NpyBackend(Backend):
    """Cache frames as ``.npy`` files (fastest reads, largest files; no config).

    A ``.npy`` header has no nodata field: a source's nodata value is not stored
    (``records_nodata`` is False) and frames read it from the source's header.

    Checks: every level reads the header (a damaged magic or header, a
    non-``(H, W, C)`` or object array, and a file size that disagrees with the
    header, truncated or padded, are detected) and the checksum sidecar, which
    holds a CRC32 per block of whole rows (about :data:`BLOCK_BYTES`; the first
    block also covers the header). ``'sample'`` verifies the first and last
    block, ``'deep'`` every block; reads verify each block they touch the first
    time a process reads it, so damaged pixel bytes (which every byte pattern
    would decode to) are found before they are served.

    Example
    -------
    >>> NpyBackend().to_dict()
    {'type': 'npy', 'config': {}}
    """

    name = 'npy'
    ext = 'npy'
    defaults = {}
    records_nodata = False

    def _write(self, data: np.ndarray, dst: str, nodata: Optional[float]) -> None:
        """``nodata`` is not stored: a ``.npy`` header has no field for it (see ``records_nodata``)."""
        with open(dst, 'wb') as file:
            np.save(file, np.ascontiguousarray(data), allow_pickle=False)

    def _levels(self, fpath: str) -> List[Level]:
        """One level of row blocks, each about :data:`BLOCK_BYTES` (the first one from byte 0: the header too)."""
        (h, w, c), dtype, start = _header(fpath)
        row_bytes = w * c * dtype.itemsize
        rows_per_block = max(1, BLOCK_BYTES // max(1, row_bytes))
        starts = np.arange(0, h, rows_per_block)
        ends = np.minimum(starts + rows_per_block, h)
        offsets = start + starts * row_bytes
        sizes = (ends - starts) * row_bytes
        offsets[0], sizes[0] = 0, sizes[0] + start
        ranges = np.stack([offsets, sizes], axis=1).astype(np.int64)[:, None, :]
        return [Level(rows_per_block, max(1, w), len(starts), 1, ranges)]

    def _check(self, fpath: str, check: str) -> None:
        shape, dtype, start = _header(fpath)
        expected = start + int(np.prod(shape)) * dtype.itemsize
        actual = os.path.getsize(fpath)
        if actual != expected:
            raise ImageReadError(f'{fpath} is truncated: {actual} bytes, expected {expected}')


def _header(fpath: str) -> Tuple[Tuple[int, ...], np.dtype, int]:
    """``(shape, dtype, data offset)`` of an npy file holding a C-ordered ``(H, W, C)`` array.

    Raises :class:`ImageReadError` for a damaged header or another kind of array.
    """
    with open(fpath, 'rb') as file:
        try:
            version = np.lib.format.read_magic(file)
            read_header = _HEADER_READERS.get(version)
            if read_header is None:
                raise ValueError(f'unsupported npy version {version}')
            shape, fortran, dtype = read_header(file)
        except ValueError as ex:
            raise ImageReadError(f'{fpath} has no valid npy header: {ex}') from ex
        start = file.tell()
    if len(shape) != 3 or fortran or dtype.hasobject:
        raise ImageReadError(f'{fpath} holds shape={shape} fortran={fortran} dtype={dtype}; '
                             'expected a C-ordered (H, W, C) array')
    return shape, dtype, start
