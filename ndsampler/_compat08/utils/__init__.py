"""ndsampler 0.8 path ``ndsampler.utils`` (see :mod:`ndsampler._compat08`): ``util_gdal``, ``util_lru``,
``util_misc``, ``validate_cog``, ``util_futures``, ``util_shape``, ``util_sklearn``, each also reachable as
an attribute without an import (as after 0.8.1's ``import ndsampler``)."""

_SUBMODULES = frozenset({'util_gdal', 'util_lru', 'util_misc', 'validate_cog', 'util_futures', 'util_shape',
                         'util_sklearn'})


def __getattr__(name: str):
    if name in _SUBMODULES:
        import importlib
        return importlib.import_module(f'{__name__}.{name}')
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
