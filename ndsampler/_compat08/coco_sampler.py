"""ndsampler 0.8 path ``ndsampler.coco_sampler`` (see :mod:`ndsampler._compat08`)."""
from __future__ import annotations

import warnings
from typing import Sequence

import kwcoco
import kwimage
import numpy as np
import ubelt as ub

from ndsampler import abstract_sampler, coco_frames, coco_regions
from ndsampler.channels import ChannelSpec, FusedChannelSpec
from ndsampler.geometry import window_from_center
from ndsampler.sampler import CocoSampler
from ndsampler.utils import util_misc

__all__ = ['CocoSampler', 'ChannelSpec', 'FusedChannelSpec', 'abstract_sampler', 'coco_frames', 'coco_regions',
           'util_misc', 'kwcoco', 'kwimage', 'np', 'ub', 'warnings']


def _center_extent_to_slice(center: Sequence[float], window_dims: Sequence[int]) -> tuple[slice, ...]:
    """0.8's helper: the slices of a window of ``window_dims`` centred on ``center`` (both in axis order,
    e.g. ``(cy, cx)`` and ``(h, w)``), each axis placed by :func:`ndsampler.geometry.window_from_center`."""
    return tuple(window_from_center(c, 0.0, d, 0)[1] for c, d in zip(center, window_dims))
