"""The ``None`` backend: no cache, sources are read where they are."""
from __future__ import annotations

import os
from typing import Tuple

from ndsampler._typing import PathLike
from ndsampler.backends._base import Backend
from ndsampler.backends._reader import read_header
from ndsampler.backends._source import SourceIdentity, is_remote
from ndsampler.errors import SourceNotFoundError

__all__ = ['NoneBackend']


class NoneBackend(Backend):
    """Read sources directly: nothing is converted or written.

    A source that already is a COG (or any tiled TIFF) is read window by
    window through GDAL; other formats (PNG, JPEG) are decoded whole on read.
    The "cache file" of a source is the source itself.

    Example
    -------
    >>> NoneBackend().to_dict()
    {'type': None, 'config': {}}
    """

    name = 'none'
    ext = ''
    defaults = {}
    content_addressed = False

    def to_dict(self) -> dict:
        return {'type': None, 'config': {}}

    def cache_fpath(self, root: PathLike, source: SourceIdentity) -> str:
        return source.path

    def _check(self, fpath: str, check: str) -> None:
        read_header(fpath)

    def write(self, source: PathLike, dst: PathLike) -> int:
        """Nothing to write: the source is read in place (returns 0 bytes)."""
        return 0

    def ensure(self, source: SourceIdentity, root: PathLike, check: str = 'quick') -> Tuple[str, int]:
        """The source itself, unchecked (sources are never rewritten)."""
        if not is_remote(source.path) and not os.path.exists(source.path):
            raise SourceNotFoundError(f'source image not found: {source.path}')
        return source.path, 0

    def state(self, source: SourceIdentity, root: PathLike, check: str = 'sample') -> str:
        if not is_remote(source.path) and not os.path.exists(source.path):
            return 'no_source'
        return 'cached'
