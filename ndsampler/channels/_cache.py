"""A memo of spec parses bounded by an estimate of the bytes its entries hold (and by their number).

``functools.lru_cache`` bounds entries by count only: a few thousand specs that each
expand to tens of thousands of bands would hold gigabytes.
"""
from __future__ import annotations

import functools
from collections import OrderedDict
from typing import Any, Callable, TypeVar

__all__ = ['bounded_cache', 'BAND_BYTES']

#: Estimated bytes one band name costs in a cached parse (the str object and the tuple slot).
BAND_BYTES = 80

F = TypeVar('F', bound=Callable[[str], Any])


def bounded_cache(max_bytes: int, bands: Callable[[Any], int], max_entries: int = 8192) -> Callable[[F], F]:
    """Memoize a function of one spec string, least recently used first out, within ``max_bytes``.

    Parameters
    ----------
    max_bytes : int
        Budget for the estimated size of all entries (``len(text) + BAND_BYTES * bands(result)`` each).
    bands : callable
        The number of band names a result holds.
    max_entries : int
        Most entries kept.

    Example
    -------
    >>> @bounded_cache(1000, bands=len)
    ... def split(text):
    ...     return tuple(text.split('|'))
    >>> split('a|b'), split.cache_info()['bytes']
    (('a', 'b'), 163)
    """
    def decorate(func: F) -> F:
        entries: OrderedDict[str, tuple[Any, int]] = OrderedDict()
        used = [0]

        @functools.wraps(func)
        def cached(text: str) -> Any:
            hit = entries.get(text)
            if hit is not None:
                entries.move_to_end(text)
                return hit[0]
            result = func(text)
            cost = len(text) + BAND_BYTES * bands(result)
            if cost <= max_bytes:
                entries[text] = (result, cost)
                used[0] += cost
                while used[0] > max_bytes or len(entries) > max_entries:
                    used[0] -= entries.popitem(last=False)[1][1]
            return result

        def cache_clear() -> None:
            entries.clear()
            used[0] = 0

        cached.cache_info = lambda: {'entries': len(entries), 'bytes': used[0], 'max_bytes': max_bytes}
        cached.cache_clear = cache_clear
        return cached  # type: ignore[return-value]
    return decorate
