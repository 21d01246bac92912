"""Atomic file creation and locks between processes and hosts.

Writers never expose a half-written file: data goes to a temporary file in the
destination folder, is fsynced, then renamed over the destination (rename is
atomic on POSIX within one filesystem), and the folder entry is fsynced too.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import socket
import threading
import time
import uuid
from pathlib import Path
from typing import Iterator

from ndsampler._typing import PathLike
from ndsampler.errors import CacheError, InvalidOptionError

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
    """An exclusive lock between processes and hosts sharing a folder: ``flock`` plus a lease file.

    Two locks are taken, in this order, and both are held until :meth:`release`:

    1. ``flock`` on ``<path>.lock``: cheap waiting between the processes of one host,
       released by the kernel when the holder dies (even by SIGKILL).
    2. A lease ``<path>.lock.lease``, created with ``O_CREAT | O_EXCL`` and holding the
       holder's host, boot id, pid and a random token: exclusion between hosts where
       ``flock`` is only local (NFS mounted with ``nolock`` or ``local_lock``, Lustre's
       ``localflock``, SMB, some FUSE filesystems) or fails (``ENOLCK``, ``ENOSYS``,
       ``EOPNOTSUPP``: then the lease alone is used). While it is held, a daemon thread
       touches the lease's mtime every ``stale_after / 10`` seconds.

    A lease is broken (renamed away, then removed) when its holder is known dead: on
    this host (same host name and boot id) its pid no longer exists; elsewhere its
    mtime has not changed for ``stale_after`` seconds of the waiter's own monotonic
    clock (no clocks are compared between hosts).

    What this relies on from the filesystem: ``O_EXCL`` creation is atomic (POSIX
    local filesystems; NFS v3 and later), ``rename`` is atomic, and a touched mtime is
    visible to other hosts within ``stale_after`` (NFS attribute caching defaults to at
    most 60 s; keep ``stale_after`` well above ``actimeo``). A holder that stops
    touching its lease for ``stale_after`` (suspended, partitioned) can lose it to a
    waiter on another host; the cache stays consistent even then, because every write
    is a whole-file atomic rename of content-addressed files checked by checksums.

    Parameters
    ----------
    fpath : PathLike
        The file being protected; the lock files sit beside it.
    timeout : float | None
        Seconds to wait before raising :class:`CacheError`; ``None`` waits forever.
    poll : float
        Seconds between attempts while another process holds the lock.
    stale_after : float
        Seconds without a heartbeat after which another host's lease is broken.

    Example
    -------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / 'frame.npy'
    >>> with FileLock(target) as lock:
    ...     lock.lease_fpath.exists()
    True
    >>> lock.lease_fpath.exists()
    False
    """

    def __init__(self, fpath: PathLike, timeout: float | None = None, poll: float = 0.01,
                 stale_after: float = 600.0):
        if not stale_after > 0:
            raise InvalidOptionError('stale_after', stale_after, 'seconds > 0')
        self.lock_fpath = Path(os.fspath(fpath) + '.lock')
        self.lease_fpath = Path(os.fspath(self.lock_fpath) + '.lease')
        self.timeout = timeout
        self.poll = poll
        self.stale_after = float(stale_after)
        self._fd: int | None = None
        self._token: str | None = None
        self._stop: threading.Event | None = None

    def acquire(self) -> None:
        """Take both locks (see the class docstring); raises :class:`CacheError` after ``timeout`` seconds."""
        self.lock_fpath.parent.mkdir(parents=True, exist_ok=True)
        start = time.monotonic()
        fd = os.open(self.lock_fpath, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            while not _try_flock(fd):
                self._wait(start)
            token = f'{_HOST_ID} {os.getpid()} {uuid.uuid4().hex}'
            seen = _Watch()
            while not self._try_lease(token):
                self._break_if_stale(seen)
                self._wait(start)
        except BaseException:
            os.close(fd)  # closing drops the flock too
            raise
        self._fd, self._token = fd, token
        self._stop = threading.Event()
        threading.Thread(target=_heartbeat, args=(self.lease_fpath, self.stale_after / 10, self._stop),
                         daemon=True, name=f'lease {self.lease_fpath.name}').start()

    def release(self) -> None:
        """Drop the lease (if still ours) and the ``flock``; a no-op when not held."""
        if self._fd is None:
            return
        self._stop.set()
        if _read_lease(self.lease_fpath) == self._token:
            with contextlib.suppress(FileNotFoundError):
                self.lease_fpath.unlink()
        with contextlib.suppress(OSError):
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = self._token = self._stop = None

    def _wait(self, start: float) -> None:
        if self.timeout is not None and time.monotonic() - start > self.timeout:
            raise CacheError(f'timed out after {self.timeout}s waiting for lock {self.lock_fpath}')
        time.sleep(self.poll)

    def _try_lease(self, token: str) -> bool:
        try:
            fd = os.open(self.lease_fpath, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return False
        try:
            os.write(fd, token.encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        return True

    def _break_if_stale(self, seen: '_Watch') -> None:
        """Break the current lease when its holder is dead (see the class docstring)."""
        holder = _read_lease(self.lease_fpath)
        if holder is None:
            return
        try:
            mtime = os.stat(self.lease_fpath).st_mtime_ns
        except FileNotFoundError:
            return
        if not (_holder_dead(holder) or seen.unchanged_for(holder, mtime) > self.stale_after):
            return
        broken = self.lease_fpath.with_name(f'{self.lease_fpath.name}.broken.{uuid.uuid4().hex[:12]}')
        try:
            os.rename(self.lease_fpath, broken)
        except FileNotFoundError:
            return
        if _read_lease(broken) != holder:
            # A fresh lease was taken between the check and the rename: give it back
            # unless yet another one exists already.
            with contextlib.suppress(FileExistsError):
                os.link(broken, self.lease_fpath)
        with contextlib.suppress(FileNotFoundError):
            broken.unlink()

    def __enter__(self) -> 'FileLock':
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def _boot_id() -> str:
    try:
        return Path('/proc/sys/kernel/random/boot_id').read_text().strip()
    except OSError:
        return 'unknown-boot'


#: This host as lease files name it: host name and boot id (a pid is only meaningful within one boot).
_HOST_ID = f'{socket.gethostname()}/{_boot_id()}'.replace(' ', '_')


def _try_flock(fd: int) -> bool:
    """Take ``flock`` without blocking; True also where the filesystem has no ``flock`` (the lease still excludes)."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as ex:
        if ex.errno in (errno.EAGAIN, errno.EACCES):
            return False
        if ex.errno in (errno.ENOLCK, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL):
            return True
        raise
    return True


def _read_lease(fpath: Path) -> str | None:
    try:
        return fpath.read_text()
    except (FileNotFoundError, UnicodeDecodeError):
        return None


def _holder_dead(holder: str) -> bool:
    """True when the lease's holder ran on this host (and boot) and its pid is gone."""
    parts = holder.split(' ')
    if len(parts) != 3 or parts[0] != _HOST_ID or not parts[1].isdigit():
        return False
    try:
        os.kill(int(parts[1]), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class _Watch:
    """How long (waiter's monotonic clock) a lease has been seen with the same holder and mtime."""

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._since = 0.0

    def unchanged_for(self, holder: str, mtime: int) -> float:
        now = time.monotonic()
        if (holder, mtime) != self._key:
            self._key, self._since = (holder, mtime), now
        return now - self._since


def _heartbeat(fpath: Path, every: float, stop: threading.Event) -> None:
    while not stop.wait(every):
        with contextlib.suppress(OSError):
            os.utime(fpath)
