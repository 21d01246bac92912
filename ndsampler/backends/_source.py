"""Source identity: what a cache key is made of, computed once per file per process.

A source is named by a local path or a remote URL (``http(s)://`` or a GDAL
``/vsi...`` path). Its identity is its resolved path plus ``size``,
``mtime_ns`` and ``inode`` (``PATH`` mode) or a hash of its bytes (``PIXELS``
mode). Identities are cached per process by path, so the hot path never
stats a file twice; :func:`forget_identities` drops the cache (after a source
was edited in the same process). The remote-path helpers live in
:mod:`ndsampler.io.remote` and are re-exported here.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional

from ndsampler._typing import PathLike
from ndsampler.errors import InvalidOptionError, SourceNotFoundError
from ndsampler.io.remote import GDAL_REMOTE_OPTIONS, gdal_env, gdal_path, is_remote

__all__ = [
    'HASHID_MODES', 'check_hashid_mode', 'SourceIdentity', 'source_identity', 'forget_identities',
    'is_remote', 'gdal_path', 'gdal_env', 'GDAL_REMOTE_OPTIONS',
]

#: How a source is identified: by path + size + mtime, or by a hash of its bytes.
HASHID_MODES = ('PATH', 'PIXELS')


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
    """

    path: str
    token: str
    mode: str


_IDENTITIES: Dict[tuple, SourceIdentity] = {}


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
    """The identity of a source file, computed once per process (cached by path).

    Parameters
    ----------
    fpath : PathLike
        A local path (resolved) or a remote URL.
    mode : str
        ``'PATH'`` (size + mtime + inode) or ``'PIXELS'`` (hash of the bytes).
    refresh : bool
        Stat again even when the identity is cached.

    Raises
    ------
    SourceNotFoundError
        The local file does not exist.

    Example
    -------
    >>> import tempfile, pathlib
    >>> fpath = pathlib.Path(tempfile.mkdtemp()) / 'a.bin'
    >>> _ = fpath.write_bytes(b'abc')
    >>> ident = source_identity(fpath)
    >>> ident.token.startswith('3-')
    True
    """
    mode = check_hashid_mode(mode)
    text = os.fspath(fpath)
    cache_key = (text, mode)
    if not refresh and cache_key in _IDENTITIES:
        return _IDENTITIES[cache_key]
    if is_remote(text):
        ident = SourceIdentity(text, '', mode)
    else:
        path = str(Path(text).resolve())
        try:
            stat = os.stat(path)
        except FileNotFoundError:
            raise SourceNotFoundError(f'source image not found: {text}') from None
        if mode == 'PATH':
            token = f'{stat.st_size}-{stat.st_mtime_ns}-{stat.st_ino}'
        else:
            token = _content_hash(path)
        ident = SourceIdentity(path, token, mode)
    _IDENTITIES[cache_key] = ident
    return ident


def forget_identities(fpath: Optional[PathLike] = None) -> None:
    """Drop cached identities (all, or those of one path) so the next use stats again."""
    if fpath is None:
        _IDENTITIES.clear()
        return
    text = os.fspath(fpath)
    for key in [k for k in _IDENTITIES if k[0] == text]:
        del _IDENTITIES[key]
