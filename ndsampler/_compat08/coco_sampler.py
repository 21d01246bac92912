"""ndsampler 0.8 path ``ndsampler.coco_sampler`` (see :mod:`ndsampler._compat08`)."""
import warnings

import kwcoco
import kwimage
import numpy as np
import ubelt as ub

from ndsampler import abstract_sampler, coco_frames, coco_regions
from ndsampler.channels import ChannelSpec, FusedChannelSpec
from ndsampler.sampler import CocoSampler
from ndsampler.utils import util_misc

__all__ = ['CocoSampler', 'ChannelSpec', 'FusedChannelSpec', 'abstract_sampler', 'coco_frames', 'coco_regions',
           'util_misc', 'kwcoco', 'kwimage', 'np', 'ub', 'warnings']
