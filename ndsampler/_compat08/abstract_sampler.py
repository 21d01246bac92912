"""ndsampler 0.8 path ``ndsampler.abstract_sampler`` (see :mod:`ndsampler._compat08`)."""
from ndsampler.sampler import AbstractSampler

__all__ = ['AbstractSampler']
