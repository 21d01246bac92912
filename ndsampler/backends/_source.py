"""Source identity: what a cache key is made of, read from the file's current state on every call.

A source is named by a local path or a remote URL (``http(s)://`` or a GDAL
``/vsi...`` path). Its identity is its resolved path plus ``size``,
``mtime_ns`` and ``inode`` (``PATH`` mode) or a hash of its bytes (``PIXELS``
mode). A local source is stat-ed on every call (a few microseconds), so a
frames object built after an in-place edit always gets the current version;
``PIXELS`` hashes are remembered per process and file stamp (size, mtime_ns,
inode), so an unchanged file is not hashed twice (:func:`forget_identities`
drops them). Remote sources are not checked at all: their identity is the URL
alone (no request is made, neither here nor per read), so a remote file
replaced under the same URL keeps its cached frame until that frame is removed.
The remote-path helpers live in :mod:`ndsampler.io.remote` and are re-exported here.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional, Tuple

from ndsampler._typing import PathLike
from ndsampler.delayed.readers._pool import file_stamp
from ndsampler.errors import InvalidOptionError, SourceNotFoundError
from ndsampler.io.remote import GDAL_REMOTE_OPTIONS, gdal_env, gdal_path, is_remote

__all__ = [
    'HASHID_MODES', 'check_hashid_mode', 'SourceIdentity', 'source_identity', 'forget_identities',
    'is_remote', 'gdal_path', 'gdal_env', 'GDAL_REMOTE_OPTIONS',
]

#: How a source is identified: by path + size + mtime, or by a hash of its bytes.
HASHID_MODES = ('PATH', 'PIXELS')

#: ``(size, mtime_ns, inode)`` of a local file.
Stamp = Tuple[int, int, int]


@dataclass(frozen=True)
class SourceIdentity:
    """What the cache key of one source is built from.

    Attributes
    ----------
    path : str
        Resolved local path, or the remote URL as given.
    token : str
        ``'<size>-<mtime_ns>-<inode>'`` (PATH mode, empty for remote sources)
        or ``'sha256:<hex>'`` of the file's bytes (PIXELS mode).
    mode : str
        One of :data:`HASHID_MODES`.
    stamp : tuple[int, int, int] | None
        ``(size, mtime_ns, inode)`` of the local file when it was identified
        (None for remote sources): readers of its frame compare the file's
        current stamp with it (see ``ReaderPool.mark_immutable``).
    """

    path: str
    token: str
    mode: str
    stamp: Optional[Stamp] = None


#: PIXELS-mode content hashes by (resolved path, stamp).
_HASHES: Dict[Tuple[str, Stamp], str] = {}


def check_hashid_mode(mode: str) -> str:
    """``mode`` upper-cased, one of :data:`HASHID_MODES` (InvalidOptionError naming ``hashid_mode`` otherwise)."""
    upper = str(mode).upper()
    if upper not in HASHID_MODES:
        raise InvalidOptionError('hashid_mode', mode, HASHID_MODES)
    return upper


def _content_hash(fpath: str) -> str:
    hasher = hashlib.sha256()
    with open(fpath, 'rb') as file:
        for chunk in iter(lambda: file.read(1 << 22), b''):
            hasher.update(chunk)
    return 'sha256:' + hasher.hexdigest()


def source_identity(fpath: PathLike, mode: str = 'PATH', refresh: bool = False) -> SourceIdentity:
    """The current identity of a source file (a local one is stat-ed on every call).

    Parameters
    ----------
    fpath : PathLike
        A local path (resolved) or a remote URL (taken as it is: nothing is checked).
    mode : str
        ``'PATH'`` (size + mtime + inode) or ``'PIXELS'`` (hash of the bytes).
    refresh : bool
        ``PIXELS`` mode: hash the bytes again even when the file's stamp is the
        one of a remembered hash (an edit that kept size, mtime and inode).

    Raises
    ------
    SourceNotFoundError
        The local file does not exist.

    Example
    -------
    >>> import os, tempfile, pathlib
    >>> fpath = pathlib.Path(tempfile.mkdtemp()) / 'a.bin'
    >>> _ = fpath.write_bytes(b'abc')
    >>> ident = source_identity(fpath)
    >>> ident.token.startswith('3-')
    True
    >>> _ = fpath.write_bytes(b'abcd')
    >>> source_identity(fpath).token.startswith('4-')
    True
    """
    mode = check_hashid_mode(mode)
    text = os.fspath(fpath)
    if is_remote(text):
        return SourceIdentity(text, '', mode)
    path = str(Path(text).resolve())
    try:
        stamp = file_stamp(os.stat(path))
    except FileNotFoundError:
        raise SourceNotFoundError(f'source image not found: {text}') from None
    if mode == 'PATH':
        return SourceIdentity(path, '-'.join(map(str, stamp)), mode, stamp)
    token = None if refresh else _HASHES.get((path, stamp))
    if token is None:
        token = _HASHES[(path, stamp)] = _content_hash(path)
    return SourceIdentity(path, token, mode, stamp)


def forget_identities(fpath: Optional[PathLike] = None) -> None:
    """Drop remembered ``PIXELS`` hashes (all, or those of one path) so the next identity hashes again."""
    if fpath is None:
        _HASHES.clear()
        return
    path = str(Path(os.fspath(fpath)).resolve())
    for key in [k for k in _HASHES if k[0] == path]:
        del _HASHES[key]
