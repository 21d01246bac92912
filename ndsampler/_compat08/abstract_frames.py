"""ndsampler 0.8 path ``ndsampler.abstract_frames`` (see :mod:`ndsampler._compat08`)."""
import copy
import warnings
from os.path import exists, join

import numpy as np
import ubelt as ub

from ndsampler.frames import AlignableImageData, Frames, SimpleFrames
from ndsampler.utils import util_gdal, util_lru

__all__ = ['Frames', 'SimpleFrames', 'AlignableImageData', 'copy', 'warnings', 'exists', 'join', 'np', 'ub',
           'util_gdal', 'util_lru']
