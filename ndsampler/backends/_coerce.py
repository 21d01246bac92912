"""Turning a user's backend spec into a :class:`Backend`."""
from __future__ import annotations

from typing import Any, Dict, Type

from ndsampler._typing import BackendLike
from ndsampler.backends._base import Backend
from ndsampler.backends._cog import CogBackend
from ndsampler.backends._none import NoneBackend
from ndsampler.backends._npy import NpyBackend
from ndsampler.errors import InvalidOptionError

__all__ = ['coerce_backend', 'BACKENDS']

#: Backend classes by the name a spec uses. ``'auto'`` is ``'cog'``: GDAL is a
#: hard dependency, and COG gives small lossless files with overviews.
BACKENDS: Dict[Any, Type[Backend]] = {None: NoneBackend, 'none': NoneBackend, 'cog': CogBackend,
                                      'auto': CogBackend, 'npy': NpyBackend}
_SPEC_KEYS = ('type', 'config')


def coerce_backend(spec: 'BackendLike | Backend' = None) -> Backend:
    """Build a backend from ``None``, ``'cog'``, ``'npy'``, ``'auto'``, a dict or a Backend.

    Parameters
    ----------
    spec : None | str | dict | Backend
        ``None`` (read sources directly), a type name, or
        ``{'type': 'cog' | 'npy' | None, 'config': {...}}``. ``'auto'`` means ``'cog'``.

    Raises
    ------
    InvalidOptionError
        Unknown type, unknown dict key, unknown or invalid config value.

    Example
    -------
    >>> coerce_backend({'type': 'cog', 'config': {'compress': 'DEFLATE'}})
    CogBackend({'compress': 'DEFLATE', 'blocksize': 256, 'overviews': 'auto', 'level': 6})
    >>> coerce_backend('auto').name
    'cog'
    """
    if isinstance(spec, Backend):
        return spec
    config: Dict[str, Any] = {}
    if isinstance(spec, dict):
        for key in spec:
            if key not in _SPEC_KEYS:
                raise InvalidOptionError('backend key', key, _SPEC_KEYS)
        config = spec.get('config') or {}
        if not isinstance(config, dict):
            raise InvalidOptionError('backend config', config, 'a dict')
        spec = spec.get('type')
    name = spec.lower() if isinstance(spec, str) else spec
    if name not in BACKENDS:
        raise InvalidOptionError('backend', spec, [None, 'cog', 'npy', 'auto'])
    return BACKENDS[name](config)
