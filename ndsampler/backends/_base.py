"""The cache backend interface (zarr-store style) and the conversion protocol.

A backend turns a source image into a cache file and checks cache files. Every
backend shares one protocol, :meth:`Backend.ensure`:

1. compute the key from the source identity and the config,
2. return the cache file if it exists and passes the check,
3. otherwise take the frame's :class:`~ndsampler.io.FileLock`, check again
   (another process may have finished it meanwhile), remove temporary files a
   killed writer left behind, convert atomically over a damaged file (removed
   instead when the conversion fails), and drop cache files of older versions
   of the same source.

Checks come in :data:`CHECK_LEVELS`, cheapest first: ``'quick'`` (layout and
size, no pixels decoded: before a frame's first read in a process),
``'sample'`` (plus a few tiles decoded where the format has tiles: ``prepare``
and ``status``) and ``'deep'`` (every pixel decoded: after a read failed, or on
request). A check passed is remembered per process and file version (size,
mtime) except ``'deep'``, which always runs.

Integrity: a converting backend writes, with each frame, a sidecar of CRC32s of
its tiles (COG) or row blocks (npy) (:mod:`ndsampler.backends._checksums`,
``<frame>.crc.json``, renamed into place before the frame). Every check also
checks the sidecar: ``'quick'`` that it exists and records the frame's size (a
frame without its checksums is not cached), ``'sample'`` a few blocks'
CRCs, ``'deep'`` every block's. Readers of a frame verify each block the first
time the process reads it (:meth:`Backend.verifier`), so damage that still
decodes (a zeroed region of an npy, flipped bytes in a ZSTD tile) is found on
first touch and the frame rebuilt like a truncated one.

Layout: ``<root>/<backend>/<config-hash>/<xx>/<rest-of-hash>.<ext>`` where
``root`` is ``<workdir>/_cache/frames``. In ``PATH`` mode the hash is
``sha(path)[:16] + sha(size, mtime, inode)[:16]`` so versions of one source
share a prefix (how stale files are found); in ``PIXELS`` mode it is the
content hash. Locks are striped: the frames of one ``<xx>`` folder share
``<root>/<backend>/<config-hash>/.locks/<xx>.lock``, so a config folder holds
at most 256 lock files however many frames it caches (lock files are never
removed: another process may be waiting on one).
"""
from __future__ import annotations

import abc
import contextlib
import hashlib
import json
import os
from pathlib import Path
from typing import Any, Callable, ClassVar, Dict, List, Optional, Tuple

import numpy as np

from ndsampler._typing import PathLike, Slices
from ndsampler.backends._checksums import (BlockVerifier, Checksums, Level, check_checksums, remove_frame,
                                           sidecar_fpath, verifier_for, write_checksums)
from ndsampler.backends._reader import Header, read_header, read_source, read_window
from ndsampler.backends._source import SourceIdentity, is_remote
from ndsampler.errors import (CacheError, ConversionError, ImageReadError, InvalidOptionError,
                              SourceNotFoundError)
from ndsampler.io import FileLock, atomic_write

__all__ = ['Backend', 'FRAME_STATES', 'CHECK_LEVELS']

#: Bumped when the bytes a backend writes for the same config change
#: (2: COG frames record their source's nodata value; 3: every frame has a checksum sidecar).
FORMAT_VERSION = 3

#: What :meth:`Backend.state` reports for one frame, best first (frames ranks images by this order).
FRAME_STATES = ('cached', 'missing', 'stale', 'corrupt', 'no_source')

#: How thoroughly a cache file is checked, cheapest first (see the module docstring).
CHECK_LEVELS = ('quick', 'sample', 'deep')


def _rank(check: str) -> int:
    if check not in CHECK_LEVELS:
        raise InvalidOptionError('check', check, CHECK_LEVELS)
    return CHECK_LEVELS.index(check)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode('utf8')).hexdigest()


def _join(root: PathLike, rel: str) -> str:
    root = os.fspath(root)
    return root.rstrip('/') + '/' + rel if is_remote(root) else os.path.join(root, rel)


class Backend(abc.ABC):
    """Base class of the cache backends.

    Parameters
    ----------
    config : dict | None
        Overrides of :attr:`defaults`; unknown keys raise :class:`InvalidOptionError`.
    **kwargs
        More overrides, merged over ``config``.

    Attributes
    ----------
    name : str
        ``'cog'``, ``'npy'`` or ``'none'``; the first folder of the layout.
    ext : str
        Cache file extension (without the dot).
    defaults : dict
        The config keys and their default values.
    content_addressed : bool
        Whether cache files are named by content (False for ``none``, which reads sources in place).
    records_nodata : bool
        Whether a cache file's header keeps the nodata value its source declares
        (False for ``npy``: readers take it from the source's header).
    config : dict
        The validated config.
    """

    name: ClassVar[str]
    ext: ClassVar[str]
    defaults: ClassVar[Dict[str, Any]] = {}
    #: True when a cache path's bytes never change (a new source version or
    #: config gets a new name), so readers need not re-check the file.
    content_addressed: ClassVar[bool] = True
    #: True when the cache file's header declares the source's nodata value.
    records_nodata: ClassVar[bool] = True

    def __init__(self, config: Optional[Dict[str, Any]] = None, **kwargs: Any):
        given = {**(config or {}), **kwargs}
        for key in given:
            if key not in self.defaults:
                allowed = sorted(self.defaults) or 'no config keys'
                raise InvalidOptionError(f'{self.name} backend config key', key, allowed)
        self.config: Dict[str, Any] = self._validate({**self.defaults, **given})
        blob = json.dumps({'backend': self.name, 'format': FORMAT_VERSION, **self.config}, sort_keys=True)
        self.config_hash: str = _sha(blob)[:12]
        self._valid: Dict[str, Tuple[Tuple[int, ...], int]] = {}

    def _validate(self, config: Dict[str, Any]) -> Dict[str, Any]:
        """Check and normalize config values (subclasses override)."""
        return config

    def __repr__(self) -> str:
        return f'{type(self).__name__}({self.config!r})'

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.config == other.config  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((self.name, self.config_hash))

    def __getstate__(self) -> Dict[str, Any]:
        state = self.__dict__.copy()
        state['_valid'] = {}
        return state

    def to_dict(self) -> Dict[str, Any]:
        """The ``{'type': ..., 'config': ...}`` form :func:`coerce_backend` accepts."""
        return {'type': self.name, 'config': dict(self.config)}

    # -- keys ---------------------------------------------------------------
    def key(self, source: SourceIdentity) -> str:
        """Relative cache path of ``source``: ``<name>/<config-hash>/<xx>/<rest>.<ext>``."""
        if source.mode == 'PATH':
            digest = _sha(source.path)[:16] + _sha(source.token)[:16]
        else:
            digest = _sha(source.token)[:32]
        return f'{self.name}/{self.config_hash}/{digest[:2]}/{digest[2:]}.{self.ext}'

    def cache_fpath(self, root: PathLike, source: SourceIdentity) -> str:
        """Where ``source``'s frame lives under the cache ``root`` (a folder or URL)."""
        return _join(root, self.key(source))

    # -- checks -------------------------------------------------------------
    @abc.abstractmethod
    def _check(self, fpath: str, check: str) -> None:
        """Raise :class:`ImageReadError` when ``fpath`` is truncated or corrupt, as far as ``check`` looks."""

    def validate(self, fpath: PathLike, check: str = 'sample') -> bool:
        """True when the cache file exists and passes ``check`` (one of :data:`CHECK_LEVELS`).

        Remembered per process and file version (size, mtime, and those of its
        checksum sidecar), except ``'deep'``, which always runs. The frame's
        checksums are checked too (local frames of converting backends; see the
        module docstring): a frame without its sidecar is not valid.

        Example
        -------
        >>> from ndsampler.backends import NpyBackend
        >>> NpyBackend().validate('/nonexistent/frame.npy')
        False
        """
        fpath = os.fspath(fpath)
        checksummed = self.content_addressed and not is_remote(fpath)
        if is_remote(fpath):
            stamp: Tuple[int, ...] = (0, 0)
        else:
            try:
                stat = os.stat(fpath)
                side = os.stat(sidecar_fpath(fpath)) if checksummed else None
            except FileNotFoundError:
                return False
            stamp = (stat.st_size, stat.st_mtime_ns) + (() if side is None else (side.st_size, side.st_mtime_ns))
        rank = _rank(check)
        passed = self._valid.get(fpath)
        if check != 'deep' and passed is not None and passed[0] == stamp and passed[1] >= rank:
            return True
        try:
            self._check(fpath, check)
            if checksummed:
                check_checksums(fpath, check)
        except (ImageReadError, SourceNotFoundError, OSError, ValueError):
            return False
        self._valid[fpath] = (stamp, rank)
        return True

    def verifier(self, fpath: str) -> Optional[BlockVerifier]:
        """What a reader of the frame ``fpath`` calls before each read to verify the blocks it touches.

        One per frame version per process (each block is verified once); None for
        frames without checksums (remote caches, the None backend's sources).
        """
        if not self.content_addressed or is_remote(fpath):
            return None
        return verifier_for(fpath)

    # -- conversion ---------------------------------------------------------
    #: Writes ``(H, W, C)`` pixels and the source's nodata value (or None) to a path,
    #: not atomically: :meth:`write` passes a temporary file (converting backends define it).
    _write: Callable[[np.ndarray, str, Optional[float]], None]
    #: The checksummed byte ranges of a written frame, one :class:`Level` per pyramid
    #: level (converting backends define it).
    _levels: Callable[[str], List[Level]]

    def write(self, source: PathLike, dst: PathLike) -> int:
        """Convert ``source`` into the cache file ``dst`` and its checksums (atomically); returns the frame's bytes.

        The frame is written to a temporary file, its checksum sidecar computed from
        it and written, then the frame renamed into place: a frame at ``dst`` always
        has its checksums beside it.

        Raises
        ------
        SourceNotFoundError
            ``source`` does not exist.
        ConversionError
            ``source`` cannot be read or ``dst`` cannot be written (names both).
        """
        dst = os.fspath(dst)
        try:
            nodata = read_header(source).nodata
            data = read_source(source)
            with atomic_write(dst) as tmp:
                self._write(data, str(tmp), nodata)
                write_checksums(dst, Checksums.compute(str(tmp), self._levels(str(tmp))))
        except SourceNotFoundError:
            raise
        except Exception as ex:
            raise ConversionError(f'cannot convert source {os.fspath(source)} into {dst}: {ex}') from ex
        return os.path.getsize(dst)

    def lock(self, dst: PathLike) -> FileLock:
        """The inter-process lock of the cache file ``dst`` (shared by the frames of its ``<xx>`` folder).

        Example
        -------
        >>> from ndsampler.backends import NpyBackend
        >>> str(NpyBackend().lock('/c/npy/0123abcd/8f/rest.npy').lock_fpath)
        '/c/npy/0123abcd/.locks/8f.lock'
        """
        path = Path(dst)
        return FileLock(path.parent.parent / '.locks' / path.parent.name)

    def ensure(self, source: SourceIdentity, root: PathLike, check: str = 'quick') -> Tuple[str, int]:
        """Return ``(cache_fpath, bytes_written)``, converting ``source`` if needed.

        ``bytes_written`` is 0 when a valid frame was already there. Safe to call
        from many processes at once: at most one converts, the others wait on the
        lock and then find the frame done.

        Parameters
        ----------
        source : SourceIdentity
        root : PathLike
            The cache root (a folder, or a URL for a read-only remote cache).
        check : str
            How an existing cache file is checked (:data:`CHECK_LEVELS`); a file
            that fails is rebuilt (replaced atomically; removed when the rebuild
            fails). ``'deep'`` is the repair of a file
            that failed to decode (a no-op when another process already rebuilt it).
        """
        dst = self.cache_fpath(root, source)
        if self.validate(dst, check):
            return dst, 0
        if is_remote(dst):
            raise CacheError(f'frame {dst} for source {source.path} is missing or corrupt in the '
                             'read-only remote cache; prepare it locally and upload it')
        with self.lock(dst):
            if self.validate(dst, check):
                return dst, 0
            _remove_leftovers(dst)
            try:
                if not is_remote(source.path) and not os.path.exists(source.path):
                    raise SourceNotFoundError(f'source image not found: {source.path}')
                nbytes = self.write(source.path, dst)  # an atomic replace: readers never see no file
            except Exception:
                # What is at dst failed its check: never serve it again, even when the rebuild failed.
                remove_frame(dst)
                raise
            if source.mode == 'PATH':
                for old in self._versions(dst):
                    remove_frame(str(old))
        return dst, nbytes

    def _versions(self, dst: str) -> List[Path]:
        """Cache files of other versions of the same source path (PATH mode only)."""
        path = Path(dst)
        prefix = path.name[:14]
        return [p for p in path.parent.glob(f'{prefix}*.{self.ext}') if p.name != path.name]

    def state(self, source: SourceIdentity, root: PathLike, check: str = 'sample') -> str:
        """One of :data:`FRAME_STATES` for ``source``'s frame under ``root``, checked by ``check``."""
        if not is_remote(source.path) and not os.path.exists(source.path):
            return 'no_source'
        dst = self.cache_fpath(root, source)
        if self.validate(dst, check):
            return 'cached'
        if not is_remote(dst) and os.path.exists(dst):
            return 'corrupt'
        if source.mode == 'PATH' and not is_remote(dst) and self._versions(dst):
            return 'stale'
        return 'missing'

    # -- reading (for checks and tests; samples read through the delayed layer) --
    def header(self, fpath: PathLike) -> Header:
        """Size, bands, dtype, overview count and nodata of a cache file (or source)."""
        return read_header(fpath)

    def read(self, fpath: PathLike, slices: Optional[Slices] = None) -> np.ndarray:
        """``(H, W, C)`` pixels of a cache file (or source), optionally a ``(y, x)`` window."""
        return read_window(fpath, slices)


def _remove_leftovers(dst: str) -> None:
    """Delete temporary files a killed writer of ``dst`` left (caller holds the lock)."""
    path = Path(dst)
    if path.parent.exists():
        for tmp in path.parent.glob(f'.{path.stem}.*'):
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
