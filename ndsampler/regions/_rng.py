"""Random number generator coercion shared by every sampling plan."""
from __future__ import annotations

from typing import Any

import kwarray
import numpy as np

__all__ = ['ensure_generator']


def ensure_generator(rng: Any = None) -> np.random.Generator:
    """A ``numpy.random.Generator`` from a seed, a legacy ``RandomState`` or a Generator.

    Follows ``kwarray.ensure_rng`` semantics: ``None`` draws from numpy's global state (so
    ``np.random.seed`` makes it reproducible), an int seeds a fresh generator, a
    ``RandomState`` is advanced (successive calls differ, replays are identical) and a
    ``Generator`` is used as is.

    Example
    -------
    >>> a = ensure_generator(0).integers(1000, size=3)
    >>> b = ensure_generator(0).integers(1000, size=3)
    >>> bool((a == b).all())
    True
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    legacy = kwarray.ensure_rng(rng)
    return np.random.default_rng(legacy.randint(0, 2 ** 31 - 1, size=4))
