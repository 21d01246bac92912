"""ndsampler 0.8 path ``ndsampler.frame_cache`` (see :mod:`ndsampler._compat08`).

0.8's ``CorruptCOG`` (a cache COG that fails to decode) is this package's
:class:`ndsampler.errors.ImageReadError`, which frames raise for the same case.
"""
import itertools as it
import os
from os.path import dirname, exists

import numpy as np
import ubelt as ub

from ndsampler.errors import ImageReadError as CorruptCOG
from ndsampler.utils import util_gdal

__all__ = ['CorruptCOG', 'util_gdal', 'it', 'os', 'dirname', 'exists', 'np', 'ub']
