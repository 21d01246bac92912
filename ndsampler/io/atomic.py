"""Atomic file creation and inter-process locks.

Writers never expose a half-written file: data goes to a temporary file in the
destination folder, is fsynced, then renamed over the destination (rename is
atomic on POSIX within one filesystem), and the folder entry is fsynced too.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import time
import uuid
from pathlib import Path
from typing import Iterator

from ndsampler._typing import PathLike
from ndsampler.errors import CacheError

__all__ = ['atomic_write', 'FileLock', 'fsync_dir']


def _fsync(path: PathLike) -> None:
    fd = os.open(os.fspath(path), os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(dpath: PathLike) -> None:
    """Flush a folder's entries (a completed rename) to disk."""
    _fsync(dpath)


@contextlib.contextmanager
def atomic_write(fpath: PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path; on clean exit it replaces ``fpath`` atomically.

    The temporary file lives in the destination folder so the final rename
    never crosses filesystems. On an exception the temporary file is removed
    and ``fpath`` is left as it was.

    Parameters
    ----------
    fpath : PathLike
        The destination.
    suffix : str | None
        Extension for the temporary file (some writers pick a format from it);
        defaults to ``fpath``'s own suffix.

    Example
    -------
    >>> import tempfile, pathlib
    >>> dpath = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_write(dpath / 'a.txt') as tmp:
    ...     _ = tmp.write_text('hello')
    >>> (dpath / 'a.txt').read_text()
    'hello'
    """
    fpath = Path(fpath)
    fpath.parent.mkdir(parents=True, exist_ok=True)
    suffix = fpath.suffix if suffix is None else suffix
    tmp = fpath.parent / f'.{fpath.stem}.{uuid.uuid4().hex[:12]}.tmp{suffix}'
    try:
        yield tmp
        if not tmp.exists():
            raise CacheError(f'writer produced no file for {fpath}')
        _fsync(tmp)
        os.replace(tmp, fpath)
        fsync_dir(fpath.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


class FileLock:
    """An exclusive inter-process lock held on ``<path>.lock`` with ``flock``.

    Locks are released by the kernel when the holder dies (even by SIGKILL),
    so a crashed writer never blocks others forever.

    Parameters
    ----------
    fpath : PathLike
        The file being protected; the lock file sits beside it.
    timeout : float | None
        Seconds to wait before raising :class:`CacheError`; ``None`` waits forever.

    Example
    -------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / 'frame.npy'
    >>> with FileLock(target):
    ...     pass
    """

    def __init__(self, fpath: PathLike, timeout: float | None = None, poll: float = 0.01):
        self.lock_fpath = Path(os.fspath(fpath) + '.lock')
        self.timeout = timeout
        self.poll = poll
        self._fd: int | None = None

    def acquire(self) -> None:
        self.lock_fpath.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_fpath, os.O_RDWR | os.O_CREAT, 0o644)
        start = time.monotonic()
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as ex:
                if ex.errno not in (errno.EAGAIN, errno.EACCES):
                    os.close(fd)
                    raise
                if self.timeout is not None and time.monotonic() - start > self.timeout:
                    os.close(fd)
                    raise CacheError(f'timed out after {self.timeout}s waiting for lock {self.lock_fpath}')
                time.sleep(self.poll)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> 'FileLock':
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
