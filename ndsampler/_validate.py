"""Checks for values that enter the library through its public functions.

Each check takes the option's ``name`` and ``value``, returns the value
normalized (a Python ``int`` / ``float`` / ``bool``) and raises
:class:`~ndsampler.errors.InvalidOptionError` (a ``ValueError``) naming the value
and what is allowed. The common, already-normal value is tested first, so a
check costs one ``type`` test on the per-sample path.

Example
-------
>>> check_count('n_neg', 3)
3
>>> try:
...     check_count('n_neg', 'x')
... except ValueError as ex:
...     print(ex)
invalid n_neg='x'; allowed: an integer >= 0
"""
from __future__ import annotations

import math
import numbers
from typing import Any, Iterable

import numpy as np

from ndsampler.errors import InvalidOptionError

__all__ = ['is_integer', 'check_int', 'check_count', 'check_real', 'check_bool', 'check_choice', 'check_int_tuple']


def is_integer(value: Any) -> bool:
    """An ``int`` / numpy integer or an integral finite float (``3.0``); never a bool."""
    if isinstance(value, (bool, np.bool_)):
        return False
    if isinstance(value, numbers.Integral):
        return True
    return isinstance(value, (float, np.floating)) and math.isfinite(value) and float(value).is_integer()


def check_int(name: str, value: Any, allowed: str = 'an integer') -> int:
    """``value`` as an ``int``: an integer (or an integral float such as ``3.0``), not a bool."""
    if type(value) is int or is_integer(value):
        return int(value)
    raise InvalidOptionError(name, value, allowed)


def check_count(name: str, value: Any, minimum: int = 0) -> int:
    """``value`` as an ``int >= minimum``."""
    allowed = f'an integer >= {minimum}'
    value = check_int(name, value, allowed)
    if value < minimum:
        raise InvalidOptionError(name, value, allowed)
    return value


def check_real(name: str, value: Any, low: float = -math.inf, high: float = math.inf,
               allow_inf: bool = False) -> float:
    """``value`` as a ``float`` in ``[low, high]``: a real number, not a bool, not NaN, finite unless ``allow_inf``."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
    if ok:
        value = float(value)
        ok = low <= value <= high and (allow_inf or math.isfinite(value))
    if not ok:
        bounds = [f'>= {low}' if low > -math.inf else '', f'<= {high}' if high < math.inf else '']
        what = 'a number' if allow_inf else 'a finite number'
        raise InvalidOptionError(name, value, ' '.join([what, ' and '.join(b for b in bounds if b)]).strip())
    return value


def check_bool(name: str, value: Any, extra: Iterable[Any] = ()) -> Any:
    """``value`` as a ``bool`` (numpy bools too), or one of ``extra`` as it is."""
    if value is True or value is False:
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    extra = tuple(extra)
    if isinstance(value, str) and value in extra:
        return value
    raise InvalidOptionError(name, value, (True, False) + extra)


def check_choice(name: str, value: Any, allowed: Iterable[Any]) -> Any:
    """``value`` when it is one of ``allowed`` (compared by type and equality: ``1`` is not ``True``)."""
    allowed = tuple(allowed)
    for option in allowed:
        if type(value) is type(option) and value == option:
            return value
    raise InvalidOptionError(name, value, allowed)


def check_int_tuple(name: str, value: Any, lengths: Iterable[int] | None = None, minimum: int = 0,
                    allowed: str | None = None) -> tuple[int, ...]:
    """``value`` as a tuple of ``int >= minimum`` whose length is one of ``lengths`` (any length when None)."""
    lengths = None if lengths is None else tuple(lengths)
    if allowed is None:
        count = 'a sequence of' if lengths is None else ' or '.join(map(str, lengths))
        allowed = f'{count} integers >= {minimum}'
    if not isinstance(value, (tuple, list, np.ndarray, range)):
        raise InvalidOptionError(name, value, allowed)
    items = tuple(value.ravel()) if isinstance(value, np.ndarray) and value.ndim == 1 else tuple(value)
    if (lengths is not None and len(items) not in lengths) or not all(is_integer(v) and v >= minimum for v in items):
        raise InvalidOptionError(name, value, allowed)
    return tuple(int(v) for v in items)
