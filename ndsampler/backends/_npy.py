"""The npy backend: raw ``(H, W, C)`` arrays, memory-mapped on read."""
from __future__ import annotations

from typing import Optional

import numpy as np

from ndsampler.backends._base import Backend
from ndsampler.errors import ImageReadError
from ndsampler.io import atomic_write

__all__ = ['NpyBackend']

_HEADER_READERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}


class NpyBackend(Backend):
    """Cache frames as ``.npy`` files (fastest reads, largest files; no config).

    A ``.npy`` header has no nodata field: a source's nodata value is not stored
    (``records_nodata`` is False) and frames read it from the source's header.

    Checks (every level alike) read the header: a damaged magic or header, a
    non-``(H, W, C)`` or object array, and a file size that disagrees with the
    header (truncated or padded) are detected. Damaged pixel bytes are not: a raw
    ``.npy`` has no checksum and every byte pattern is a valid pixel, so they
    read back as wrong values without any error (use the ``cog`` backend, whose
    compressed tiles fail to decode, where silent damage matters).

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
        with atomic_write(dst) as tmp:
            np.save(tmp, np.ascontiguousarray(data), allow_pickle=False)

    def _check(self, fpath: str, check: str) -> None:
        with open(fpath, 'rb') as file:
            try:
                version = np.lib.format.read_magic(file)
                read_header = _HEADER_READERS.get(version)
                if read_header is None:
                    raise ValueError(f'unsupported npy version {version}')
                shape, fortran, dtype = read_header(file)
            except ValueError as ex:
                raise ImageReadError(f'{fpath} has no valid npy header: {ex}') from ex
            expected = file.tell() + int(np.prod(shape)) * dtype.itemsize
            file.seek(0, 2)
            actual = file.tell()
        if len(shape) != 3 or fortran or dtype.hasobject:
            raise ImageReadError(f'{fpath} holds shape={shape} fortran={fortran} dtype={dtype}; '
                                 'expected a C-ordered (H, W, C) array')
        if actual != expected:
            raise ImageReadError(f'{fpath} is truncated: {actual} bytes, expected {expected}')
