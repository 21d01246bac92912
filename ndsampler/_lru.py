"""A small mapping that keeps only its most recently used entries (ndsampler 0.8's ``LRUDict``)."""
from __future__ import annotations

from collections import OrderedDict
from typing import Any, Iterator

from ndsampler.errors import InvalidOptionError

__all__ = ['LRUDict']


class LRUDict:
    """A dict of at most ``max_size`` entries; storing into a full one drops the least recently used.

    Reading (``d[key]``) and writing both count as a use.

    Example
    -------
    >>> cache = LRUDict(2)
    >>> cache['a'], cache['b'] = 1, 2
    >>> cache['a']
    1
    >>> cache['c'] = 3
    >>> sorted(cache.keys())
    ['a', 'c']
    """

    def __init__(self, max_size: int):
        self._max_size = self._check_size(max_size)
        self._cache: OrderedDict[Any, Any] = OrderedDict()

    @staticmethod
    def _check_size(max_size: int) -> int:
        if int(max_size) != max_size or max_size < 0:
            raise InvalidOptionError('max_size', max_size, 'an int >= 0')
        return int(max_size)

    @classmethod
    def new(cls, max_size: int, impl: str = 'auto') -> 'LRUDict':
        """A new cache (0.8 could pick the ``lru-dict`` C implementation; this one is always used)."""
        if impl not in {'auto', 'py', 'c'}:
            raise InvalidOptionError('impl', impl, ['auto', 'py', 'c'])
        return cls(max_size)

    def __getitem__(self, key: Any) -> Any:
        value = self._cache[key]
        self._cache.move_to_end(key)
        return value

    def __setitem__(self, key: Any, value: Any) -> None:
        self._cache[key] = value
        self._cache.move_to_end(key)
        while len(self._cache) > self._max_size:
            self._cache.popitem(last=False)

    def __delitem__(self, key: Any) -> None:
        del self._cache[key]

    def __contains__(self, key: Any) -> bool:
        return key in self._cache

    def has_key(self, key: Any) -> bool:
        """Same as ``key in self``."""
        return key in self._cache

    def __len__(self) -> int:
        return len(self._cache)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._cache)

    def keys(self):
        return self._cache.keys()

    def values(self):
        return self._cache.values()

    def items(self):
        return self._cache.items()

    def update(self, other: Any) -> None:
        """Store every item of a mapping (each one a use)."""
        for key, value in dict(other).items():
            self[key] = value

    def clear(self) -> None:
        self._cache.clear()

    def set_size(self, max_size: int) -> None:
        """Change the capacity, dropping the least recently used entries that no longer fit."""
        self._max_size = self._check_size(max_size)
        while len(self._cache) > self._max_size:
            self._cache.popitem(last=False)

    def __repr__(self) -> str:
        return f'<LRUDict({dict(self._cache)!r}, max_size={self._max_size})>'
