"""ndsampler 0.8 path ``ndsampler.utils.util_lru`` (see :mod:`ndsampler._compat08`)."""
import collections

import ubelt as ub

from ndsampler._lru import LRUDict

__all__ = ['LRUDict', 'collections', 'ub']
