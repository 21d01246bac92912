"""The per-process pool of open readers, bounded by bytes and least-recently-used."""
from __future__ import annotations

import os
import resource
import threading
from collections import OrderedDict
from typing import Callable

from ndsampler._typing import PathLike
from ndsampler.delayed.readers._base import Reader
from ndsampler.delayed.readers._remote_cog import pool_reader_class
from ndsampler.errors import InvalidOptionError, SourceNotFoundError, StaleFrameError
from ndsampler.io.remote import is_remote

__all__ = ['ReaderPool', 'get_reader', 'reader_pool', 'file_stamp']

#: Default byte budget of the pool (decoded images and open handles).
DEFAULT_BUDGET = 1 << 30


def _default_max_handles() -> int:
    """Half this process's soft ``RLIMIT_NOFILE``: file descriptors the pool may keep open, leaving the rest free."""
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft == resource.RLIM_INFINITY:
        soft = 1 << 20
    return max(1, soft // 2)


def file_stamp(stat: os.stat_result) -> tuple[int, int, int]:
    """``(size, mtime_ns, inode)`` of a stat result: what changes when a file is edited in place or replaced."""
    return (stat.st_size, stat.st_mtime_ns, stat.st_ino)


#: ``verify(overview, sl_y, sl_x)``: raises when bytes a read of that window would decode are damaged.
Verify = Callable[[int, slice, slice], None]


class _Entry:
    """A pooled reader, the stamp of the file it opened, and the bytes and handles the pool charged for it."""

    __slots__ = ('stamp', 'reader', 'nbytes', 'handles', 'verify')

    def __init__(self, stamp: tuple[int, int, int] | None, reader: Reader, verify: Verify | None = None):
        self.stamp = stamp
        self.reader = reader
        self.nbytes = reader.nbytes
        self.handles = reader.num_handles
        self.verify = verify


class _Mark:
    """What :meth:`ReaderPool.mark_immutable` declared about a file: the source it derives from, and its verifier."""

    __slots__ = ('source', 'source_stamp', 'verify')

    def __init__(self, source: str | None, source_stamp: tuple | None, verify: Verify | None):
        self.source = source
        self.source_stamp = source_stamp
        self.verify = verify

    def check_source(self, fpath: str) -> None:
        """One ``stat`` of the source; StaleFrameError when it is no longer the version ``fpath`` was made from.

        A removed source is not an error: the frame keeps its last version.
        """
        try:
            stamp = file_stamp(os.stat(self.source))
        except FileNotFoundError:
            return  # removed: the frame holds its last version, and there is no other to read
        if stamp != self.source_stamp:
            raise StaleFrameError(f'source {self.source} changed after {fpath} was made from it (its '
                                  f'(size, mtime_ns, inode) was {self.source_stamp}, is {stamp}); allowed: '
                                  'a read through frames, which rebuilds the frame from the current source')


class _Verified(Reader):
    """A reader whose every read first has ``verify`` check the window (the pool's wrapper for marked files)."""

    __slots__ = ('_inner', '_verify')

    def __init__(self, inner_class: type[Reader], fpath: str, verify: Verify,
                 on_resize: Callable[[Reader], None] | None = None):
        super().__init__(fpath, on_resize)
        self._inner = inner_class(fpath, self._inner_resized)
        self._verify = verify

    def _inner_resized(self, inner: Reader) -> None:
        self._resized()

    @property
    def nbytes(self) -> int:
        return self._inner.nbytes

    @property
    def num_handles(self) -> int:
        return self._inner.num_handles

    def _read_header(self):
        return self._inner.header()

    def _read(self, sl_y, sl_x, overview, bands):
        self._verify(overview, sl_y, sl_x)
        return self._inner._read(sl_y, sl_x, overview, bands)

    def close(self) -> None:
        self._inner.close()


class ReaderPool:
    """Readers keyed by path, reused while the file's (size, mtime_ns, inode) is unchanged.

    A file replaced in place gets a new reader; the pool forgets everything
    when used from a new process (after fork) and is never pickled; when the
    readers hold more than ``budget`` bytes, or more than ``max_handles`` file
    descriptors, the least recently used are dropped. Both are running totals:
    each reader is charged when pooled and re-charged when it reports a change
    (a decode, an overview handle opened).

    Local files are stat-ed on every :meth:`get` unless marked with
    :meth:`mark_immutable` (content-addressed cache files, whose bytes never
    change under one name): those are stat-ed once, when marked or opened, and
    instead the source they were made from (if the mark names one) is stat-ed on
    every :meth:`get`, so an in-place edit of a source is noticed on its next
    read; a mark's verifier checks the bytes each read decodes. Remote paths
    (``http(s)://``, ``s3://``, ``/vsicurl/`` ...) are never stat-ed; remote COGs
    are read by :class:`~ndsampler.delayed.readers.RemoteCogReader` (its own range
    requests), other remote files by GDAL with :data:`ndsampler.io.GDAL_REMOTE_OPTIONS`.

    Parameters
    ----------
    budget : int
        Byte budget for decoded images and open handles.
    max_handles : int | None
        Most file descriptors the pooled readers may hold; None: half the process's soft
        ``RLIMIT_NOFILE``, read now (past that limit every open fails with EMFILE).
    """

    def __init__(self, budget: int = DEFAULT_BUDGET, max_handles: int | None = None):
        self.budget = budget
        self.max_handles = _default_max_handles() if max_handles is None else max_handles
        self._pid = os.getpid()
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._nbytes = 0
        self._handles = 0
        self._immutable: dict[str, _Mark] = {}
        self._lock = threading.Lock()

    @property
    def budget(self) -> int:
        """The byte budget."""
        return self._budget

    @budget.setter
    def budget(self, value: int) -> None:
        if not isinstance(value, int) or value < 0:
            raise InvalidOptionError('budget', value, 'an int >= 0 (bytes)')
        self._budget = value

    @property
    def max_handles(self) -> int:
        """The most file descriptors the pooled readers may hold."""
        return self._max_handles

    @max_handles.setter
    def max_handles(self, value: int) -> None:
        if not isinstance(value, int) or value < 1:
            raise InvalidOptionError('max_handles', value, 'an int >= 1 (file descriptors)')
        self._max_handles = value

    @staticmethod
    def _stamp(key: str) -> tuple[int, int, int] | None:
        """:func:`file_stamp` of a local file; None for a remote path."""
        if is_remote(key):
            return None
        try:
            return file_stamp(os.stat(key))
        except FileNotFoundError:
            raise SourceNotFoundError(f'no such file: {key}') from None

    def get(self, fpath: PathLike) -> Reader:
        """The reader for ``fpath`` (opened lazily; SourceNotFoundError when a local file is missing)."""
        key = fpath if isinstance(fpath, str) else os.fspath(fpath)
        if self._pid != os.getpid():
            self._forget()
        entry = self._entries.get(key)
        mark = self._immutable.get(key)
        stamp = None
        if mark is not None:
            if mark.source is not None:
                mark.check_source(key)
        elif entry is not None and entry.stamp is not None:
            stamp = self._stamp(key)
            if entry.stamp != stamp:
                entry = None  # replaced in place: a new reader
        if entry is not None:
            try:
                self._entries.move_to_end(key)
            except KeyError:  # evicted by another thread just now; the reader still works
                pass
            return entry.reader
        if stamp is None:
            stamp = self._stamp(key)
        verify = None if mark is None else mark.verify
        if verify is None:
            reader = pool_reader_class(key)(key, self._recharge)
        else:
            reader = _Verified(pool_reader_class(key), key, verify, self._recharge)
        entry = _Entry(stamp, reader, verify)
        with self._lock:
            self._drop(key)
            self._entries[key] = entry
            self._nbytes += entry.nbytes
            self._handles += entry.handles
        self.enforce_budget()
        return reader

    def _drop(self, key: str) -> _Entry | None:
        """Remove ``key``'s entry and its charge (the lock is held)."""
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._uncharge(entry)
        return entry

    def _uncharge(self, entry: _Entry) -> None:
        self._nbytes -= entry.nbytes
        self._handles -= entry.handles

    def _recharge(self, reader: Reader) -> None:
        """A pooled reader's bytes or handles changed: charge the difference and re-check the budget."""
        with self._lock:
            entry = self._entries.get(reader.fpath)
            if entry is None or entry.reader is not reader:
                return  # no longer pooled
            nbytes, handles = reader.nbytes, reader.num_handles
            self._nbytes += nbytes - entry.nbytes
            self._handles += handles - entry.handles
            entry.nbytes, entry.handles = nbytes, handles
        self.enforce_budget()

    def mark_immutable(self, fpath: PathLike, source: str | None = None,
                       source_stamp: tuple[int, int, int] | None = None, verify: Verify | None = None) -> None:
        """Declare that the bytes at ``fpath`` never change from now on: :meth:`get` stops stat-ing it.

        For content-addressed cache files (a new version gets a new name). The
        file is stat-ed now, and a pooled reader of an earlier version of it
        (replaced by an atomic rebuild) or without this ``verify`` is dropped;
        mark again after a rebuild (a new mark replaces the old one).

        Parameters
        ----------
        fpath : PathLike
        source : str | None
            The local file ``fpath`` was made from: every :meth:`get` stats it (one
            ``stat``, instead of the one of ``fpath`` an unmarked file costs) and raises
            :class:`~ndsampler.errors.StaleFrameError` once its ``(size, mtime_ns, inode)``
            is no longer ``source_stamp`` (edited or replaced; a removed source leaves
            ``fpath`` readable: it holds the last version there was). None (a remote
            source, or none): nothing is checked per read.
        source_stamp : tuple[int, int, int] | None
            ``(size, mtime_ns, inode)`` of ``source`` when ``fpath`` was made from it.
        verify : callable | None
            Called as ``verify(overview, sl_y, sl_x)`` before every read of ``fpath``
            (raising :class:`~ndsampler.errors.ImageReadError` for damaged bytes).

        Raises
        ------
        SourceNotFoundError
            ``fpath`` is a local path that does not exist.
        """
        key = fpath if isinstance(fpath, str) else os.fspath(fpath)
        stamp = self._stamp(key)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and (entry.stamp != stamp or entry.verify is not verify):
                self._drop(key)
            self._immutable[key] = _Mark(source, source_stamp, verify)

    def forget(self, fpath: PathLike) -> None:
        """Close and drop the pooled reader of ``fpath`` (if any) and its :meth:`mark_immutable` mark.

        The next :meth:`get` opens the file anew and stats it on every read until
        marked again (e.g. after a cache file was rebuilt in place). Missing files
        are fine: there is nothing to stat.
        """
        key = fpath if isinstance(fpath, str) else os.fspath(fpath)
        if self._pid != os.getpid():
            self._forget()
        with self._lock:
            entry = self._drop(key)
            self._immutable.pop(key, None)
        if entry is not None:
            entry.reader.close()

    @property
    def nbytes(self) -> int:
        """Bytes currently charged by the pooled readers."""
        return self._nbytes

    @property
    def num_handles(self) -> int:
        """File descriptors currently charged by the pooled readers."""
        return self._handles

    def __len__(self) -> int:
        return len(self._entries)

    def enforce_budget(self) -> None:
        """Drop least recently used readers until the pool fits its budget and handle limit (the newest is kept)."""
        with self._lock:
            while (self._nbytes > self._budget or self._handles > self._max_handles) and len(self._entries) > 1:
                _, entry = self._entries.popitem(last=False)
                self._uncharge(entry)

    def clear(self, keep_marks: bool = False) -> None:
        """Close and forget every reader and, unless ``keep_marks``, every :meth:`mark_immutable` mark.

        With ``keep_marks`` this process is left as a fresh DataLoader worker starts: no handle
        open, no decoded block cached, the immutable cache files still not stat-ed per read.
        """
        with self._lock:
            entries = list(self._entries.values())
            self._entries.clear()
            self._nbytes = self._handles = 0
            if not keep_marks:
                self._immutable.clear()
        for entry in entries:  # outside the lock: closing reports back through _recharge
            entry.reader.close()

    def _forget(self) -> None:
        # After fork the parent's handles are not ours to close; just drop them
        # (immutable marks are facts about paths and stay valid in the child).
        self._entries = OrderedDict()
        self._nbytes = self._handles = 0
        self._lock = threading.Lock()
        self._pid = os.getpid()

    def __getstate__(self):
        return {'budget': self._budget, 'max_handles': self._max_handles}

    def __setstate__(self, state):
        self.__init__(state['budget'], state['max_handles'])


#: The process-wide pool used by :func:`get_reader`.
reader_pool = ReaderPool()


def get_reader(fpath: PathLike) -> Reader:
    """The pooled reader for ``fpath`` in this process.

    Dispatches on the suffix: ``.npy`` is memory-mapped, TIFF/COG go through
    rasterio (window, band and overview reads), anything else is decoded whole
    by cv2 and kept in the pool. Remote paths (``http(s)://`` and ``s3://`` URLs,
    GDAL ``/vsicurl/`` ...) are kept as strings and read over range requests
    (COGs by :class:`~ndsampler.delayed.readers.RemoteCogReader`, the rest through
    GDAL). Handles open lazily on first header/read.

    Raises
    ------
    SourceNotFoundError
        When a local ``fpath`` does not exist (the message names it).

    Example
    -------
    >>> import tempfile, pathlib, numpy as np
    >>> fpath = pathlib.Path(tempfile.mkdtemp()) / 'a.npy'
    >>> np.save(fpath, np.arange(24, dtype=np.uint8).reshape(2, 4, 3))
    >>> reader = get_reader(fpath)
    >>> reader.header().dsize, reader.header().num_bands
    ((4, 2), 3)
    >>> reader.read((slice(0, 1), slice(1, 3)), bands=[2]).shape
    (1, 2, 1)
    """
    return reader_pool.get(fpath)
