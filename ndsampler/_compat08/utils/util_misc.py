"""ndsampler 0.8 path ``ndsampler.utils.util_misc`` (see :mod:`ndsampler._compat08`)."""
import ubelt as ub

from ndsampler._hashid import HashIdentifiable

__all__ = ['HashIdentifiable', 'ub']
