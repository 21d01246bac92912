"""ndsampler 0.8 path ``ndsampler.coco_frames`` (see :mod:`ndsampler._compat08`)."""
import warnings

import numpy as np
import ubelt as ub

from ndsampler import abstract_frames
from ndsampler.frames import CocoFrames
from ndsampler.utils import util_misc

__all__ = ['CocoFrames', 'abstract_frames', 'util_misc', 'warnings', 'np', 'ub']
