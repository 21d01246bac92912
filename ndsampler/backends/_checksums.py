"""Checksums of cache files: one CRC32 per tile (COG) or row block (npy), kept in a sidecar next to the frame.

A converting backend lists the byte ranges of its frame as a grid of blocks per
pyramid level (:class:`Level`: a COG's tiles from its TIFF tags, an npy's row
blocks from its header), and :meth:`Backend.write` stores the CRC32 of each range
in ``<frame>`` + :data:`SIDECAR_SUFFIX` (JSON, written atomically before the frame
is renamed into place). A frame whose sidecar is missing, unreadable or records
another file size fails every check, so a frame without its checksums is never
"cached". Checks: ``'quick'`` reads the sidecar and compares sizes, ``'sample'``
also verifies a few blocks (:meth:`Checksums.sample_blocks`), ``'deep'`` all.

Reads verify lazily: :func:`verifier_for` gives the per-process
:class:`BlockVerifier` of a frame, which the reader pool calls before every read
of a marked cache file; each block a read touches is verified the first time
this process reads it (one ``pread`` and CRC of its bytes), then remembered, so
damage is caught on first touch at an amortized cost of a bounds computation
per read. Remote cache files have no sidecar check (only their layout and
decoding are checked).
"""
from __future__ import annotations

import contextlib
import json
import os
import threading
import zlib
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ndsampler.delayed.readers._pool import file_stamp
from ndsampler.errors import ImageReadError
from ndsampler.io import atomic_write

__all__ = ['SIDECAR_SUFFIX', 'CHECKSUM_VERSION', 'Level', 'Checksums', 'BlockVerifier', 'sidecar_fpath',
           'write_checksums', 'read_checksums', 'check_checksums', 'remove_frame', 'verifier_for']

#: Appended to a frame's path to name its checksum sidecar.
SIDECAR_SUFFIX = '.crc.json'

#: Bumped when the sidecar's layout changes.
CHECKSUM_VERSION = 1


@dataclass
class Level:
    """The blocks of one pyramid level: a ``rows x cols`` grid of ``tile_h x tile_w`` pixel blocks.

    Attributes
    ----------
    tile_h, tile_w : int
        Block size in pixels (the last row / column of blocks may be cut by the image edge).
    rows, cols : int
        The grid's shape.
    ranges : np.ndarray
        ``(rows * cols, planes, 2)`` int64 ``(offset, size)`` byte ranges, row-major
        (``planes`` is 1 unless bands are stored in separate blocks).
    crcs : np.ndarray | None
        ``(rows * cols, planes)`` uint32 CRC32 of each range (None until computed).
    """

    tile_h: int
    tile_w: int
    rows: int
    cols: int
    ranges: np.ndarray
    crcs: Optional[np.ndarray] = None

    def to_json(self) -> dict:
        return {'tile': [self.tile_h, self.tile_w], 'grid': [self.rows, self.cols],
                'ranges': self.ranges.tolist(), 'crcs': self.crcs.tolist()}

    @classmethod
    def from_json(cls, blob: dict) -> Level:
        (tile_h, tile_w), (rows, cols) = blob['tile'], blob['grid']
        ranges = np.asarray(blob['ranges'], dtype=np.int64)
        crcs = np.asarray(blob['crcs'], dtype=np.uint32)
        if ranges.ndim != 3 or ranges.shape[0] != rows * cols or ranges.shape[2] != 2 \
                or crcs.shape != ranges.shape[:2]:
            raise ValueError(f'grid {rows}x{cols} does not match ranges {ranges.shape} / crcs {crcs.shape}')
        return cls(int(tile_h), int(tile_w), int(rows), int(cols), ranges, crcs)


def sidecar_fpath(fpath: str) -> str:
    """Where the checksums of the frame ``fpath`` live."""
    return fpath + SIDECAR_SUFFIX


def _crc_ranges(file, ranges: np.ndarray) -> np.ndarray:
    """CRC32 of each ``(offset, size)`` range of an open binary file, shaped like ``ranges[..., 0]``."""
    flat = ranges.reshape(-1, 2)
    out = np.empty(len(flat), dtype=np.uint32)
    fd = file.fileno()
    for i, (offset, size) in enumerate(flat.tolist()):
        data = os.pread(fd, size, offset) if size else b''
        if len(data) != size:
            raise ImageReadError(f'{file.name} is truncated: block at {offset}+{size} bytes is past its end')
        out[i] = zlib.crc32(data)
    return out.reshape(ranges.shape[:-1])


class Checksums:
    """A frame's recorded size and block CRCs (what its sidecar holds)."""

    def __init__(self, size: int, levels: List[Level]):
        self.size = size
        self.levels = levels

    @classmethod
    def compute(cls, fpath: str, levels: List[Level]) -> Checksums:
        """Fill in the CRCs of ``levels`` from the bytes of the (just written) frame ``fpath``."""
        with open(fpath, 'rb') as file:
            for level in levels:
                level.crcs = _crc_ranges(file, level.ranges)
        return cls(os.path.getsize(fpath), levels)

    def sample_blocks(self) -> List[Tuple[int, Sequence[int]]]:
        """``(level, block indices)`` the ``'sample'`` check verifies: the first and last block of
        full resolution (the frame's first and last data bytes for both layouts) and the whole
        smallest level (a COG's first data bytes)."""
        full = self.levels[0].rows * self.levels[0].cols
        picks = [(0, sorted({0, full - 1}))]
        if len(self.levels) > 1:
            last = self.levels[-1]
            picks.append((len(self.levels) - 1, range(last.rows * last.cols)))
        return picks

    def verify(self, fpath: str, level: int, blocks: Optional[Sequence[int]] = None,
               stamp: Optional[Tuple[int, int, int]] = None) -> None:
        """Raise :class:`ImageReadError` naming the first block of ``level`` (all, or ``blocks``) whose bytes changed.

        ``stamp``: the ``(size, mtime_ns, inode)`` the file must still have (it was
        replaced otherwise, and these checksums may not be the ones of what was read).
        """
        lvl = self.levels[level]
        index = np.arange(lvl.rows * lvl.cols) if blocks is None else np.asarray(blocks, dtype=np.int64)
        with open(fpath, 'rb') as file:
            if stamp is not None and file_stamp(os.fstat(file.fileno())) != stamp:
                raise ImageReadError(f'{fpath} was replaced after this process checked it (its (size, mtime_ns, '
                                     f'inode) was {stamp}); allowed: a read that opens it anew')
            got = _crc_ranges(file, lvl.ranges[index])
        bad = np.flatnonzero((got != lvl.crcs[index]).any(axis=1))
        if len(bad):
            block = int(index[bad[0]])
            row, col = divmod(block, lvl.cols)
            offset, size = lvl.ranges[block, 0].tolist()
            raise ImageReadError(
                f'{fpath} is damaged: block (row {row}, col {col}) of level {level} (bytes {offset}+{size}) '
                f'fails its checksum ({len(bad)} of {len(index)} checked blocks do); allowed: the bytes written '
                f'at conversion (crc32 in {sidecar_fpath(fpath)})')

    def to_json(self) -> str:
        return json.dumps({'version': CHECKSUM_VERSION, 'algorithm': 'crc32', 'size': self.size,
                           'levels': [level.to_json() for level in self.levels]}, separators=(',', ':'))


def write_checksums(frame_fpath: str, checksums: Checksums) -> None:
    """Write the sidecar of the frame that will live at ``frame_fpath`` (atomically)."""
    with atomic_write(sidecar_fpath(frame_fpath)) as tmp:
        tmp.write_text(checksums.to_json())


def read_checksums(fpath: str) -> Checksums:
    """The checksums recorded for the frame ``fpath``.

    Raises
    ------
    ImageReadError
        The sidecar is missing, unreadable, of another version, or records
        another size than the frame's (truncated, padded, or not the frame the
        checksums were computed for).
    """
    side = sidecar_fpath(fpath)
    try:
        with open(side, 'rb') as file:
            blob = json.loads(file.read())
        if blob.get('version') != CHECKSUM_VERSION:
            raise ValueError(f'sidecar version {blob.get("version")!r}; allowed: {CHECKSUM_VERSION}')
        levels = [Level.from_json(level) for level in blob['levels']]
        if not levels:
            raise ValueError('no levels')
        checksums = Checksums(int(blob['size']), levels)
    except FileNotFoundError:
        raise ImageReadError(f'{fpath} has no checksums ({side} is missing): the frame is incomplete') from None
    except (OSError, ValueError, KeyError, TypeError) as ex:
        raise ImageReadError(f'{fpath} has unreadable checksums in {side}: {ex}') from ex
    actual = os.path.getsize(fpath)
    if actual != checksums.size:
        raise ImageReadError(f'{fpath} is {actual} bytes; its checksums were computed for {checksums.size} bytes')
    return checksums


def check_checksums(fpath: str, check: str) -> None:
    """The sidecar part of a check (see the module docstring); raises :class:`ImageReadError`."""
    checksums = read_checksums(fpath)
    if check == 'sample':
        for level, blocks in checksums.sample_blocks():
            checksums.verify(fpath, level, blocks)
    elif check == 'deep':
        for level in range(len(checksums.levels)):
            checksums.verify(fpath, level)


def remove_frame(fpath: str) -> None:
    """Delete a frame and its sidecar (either may be missing already)."""
    for path in (fpath, sidecar_fpath(fpath)):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


class BlockVerifier:
    """Verifies, once per process, each block of a frame that a read touches.

    Called by the reader pool as ``verifier(overview, sl_y, sl_x)`` before each read
    of the frame (in-bounds slices of pyramid level ``overview``); loads the sidecar on
    first use and keeps a per-level map of verified blocks. Each verification also
    requires the file to be the one (``stamp``) the verifier was made for: readers open
    the frame after it was marked with this verifier, so a frame another process
    replaced meanwhile fails (and is re-marked by the repair) instead of being checked
    against bytes the reader does not read. Safe after fork (the frame never changes
    under its name) and across threads (a block may be verified twice).
    """

    def __init__(self, fpath: str, stamp: Optional[Tuple[int, int, int]] = None):
        self.fpath = fpath
        self.stamp = stamp
        self._checksums: Optional[Checksums] = None
        self._done: List[np.ndarray] = []
        self._left: List[int] = []
        self._lock = threading.Lock()

    def _load(self) -> Checksums:
        with self._lock:
            if self._checksums is None:
                checksums = read_checksums(self.fpath)
                self._done = [np.zeros((lvl.rows, lvl.cols), dtype=bool) for lvl in checksums.levels]
                self._left = [lvl.rows * lvl.cols for lvl in checksums.levels]
                self._checksums = checksums
        return self._checksums

    def __call__(self, overview: int, sl_y: slice, sl_x: slice) -> None:
        checksums = self._checksums if self._checksums is not None else self._load()
        if overview >= len(self._left) or not self._left[overview] or sl_y.stop <= sl_y.start \
                or sl_x.stop <= sl_x.start:
            return  # every block of this level verified already (or a level / window without blocks)
        lvl = checksums.levels[overview]
        r0, r1 = sl_y.start // lvl.tile_h, (sl_y.stop - 1) // lvl.tile_h + 1
        c0, c1 = sl_x.start // lvl.tile_w, (sl_x.stop - 1) // lvl.tile_w + 1
        done = self._done[overview][r0:r1, c0:c1]
        if done.all():
            return
        rows, cols = np.nonzero(~done)
        blocks = (rows + r0) * lvl.cols + cols + c0
        checksums.verify(self.fpath, overview, blocks, self.stamp)
        with self._lock:
            done[...] = True
            self._left[overview] = int(self._done[overview].size - self._done[overview].sum())


#: Verifiers by frame path, each of the frame version its stamp names: one per frame per process.
_VERIFIERS: Dict[str, BlockVerifier] = {}


def verifier_for(fpath: str) -> BlockVerifier:
    """The process's :class:`BlockVerifier` of the local frame ``fpath`` as it is on disk now."""
    stamp = file_stamp(os.stat(fpath))
    verifier = _VERIFIERS.get(fpath)
    if verifier is None or verifier.stamp != stamp:  # none yet, or one of an earlier version of the frame
        verifier = _VERIFIERS[fpath] = BlockVerifier(fpath, stamp)
    return verifier
