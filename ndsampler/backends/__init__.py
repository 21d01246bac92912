"""Frame cache backends behind one interface: ``cog``, ``npy`` and ``None``.

Example
-------
>>> from ndsampler.backends import coerce_backend
>>> backend = coerce_backend('npy')
>>> backend.name, backend.ext
('npy', 'npy')
"""
from ndsampler.backends._base import CHECK_LEVELS, FRAME_STATES, Backend
from ndsampler.backends._coerce import BACKENDS, coerce_backend
from ndsampler.backends._cog import CogBackend
from ndsampler.backends._none import NoneBackend
from ndsampler.backends._npy import NpyBackend
from ndsampler.backends._source import (GDAL_REMOTE_OPTIONS, HASHID_MODES, SourceIdentity, check_hashid_mode,
                                        forget_identities, gdal_env, gdal_path, is_remote, source_identity)

__all__ = [
    'Backend', 'CogBackend', 'NpyBackend', 'NoneBackend', 'coerce_backend', 'BACKENDS', 'FRAME_STATES', 'CHECK_LEVELS',
    'SourceIdentity', 'source_identity', 'forget_identities', 'HASHID_MODES', 'check_hashid_mode',
    'GDAL_REMOTE_OPTIONS', 'gdal_env', 'gdal_path', 'is_remote',
]
