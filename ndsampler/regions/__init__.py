"""Annotation spatial index and sampling plans (positives, negatives, random, balanced, grids).

Coordinates only: everything here yields target dicts that the sampler turns into pixels.
"""
from ndsampler.regions._grid import TASKS, new_sample_grid
from ndsampler.regions._gridaxis import axis_windows, overlap_pixels
from ndsampler.regions._index import BoxIndex, union_coverage, visible_fraction
from ndsampler.regions._isect import FrameIntersectionIndex
from ndsampler.regions._pool import TargetPool
from ndsampler.regions._regions import CocoRegions
from ndsampler.regions._rng import ensure_generator
from ndsampler.regions._targets import Targets, select_positive_regions, tabular_coco_targets

__all__ = [
    'CocoRegions',
    'TargetPool',
    'BoxIndex',
    'new_sample_grid',
    'TASKS',
    'axis_windows',
    'overlap_pixels',
    'visible_fraction',
    'union_coverage',
    'ensure_generator',
    'FrameIntersectionIndex',
    'Targets',
    'tabular_coco_targets',
    'select_positive_regions',
]
