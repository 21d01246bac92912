"""Lazy image operations (SPEC §4): nothing is read until ``finalize()``."""
from ndsampler.delayed import readers
from ndsampler.delayed.readers import get_reader

__all__ = ['readers', 'get_reader']
