"""ndsampler 0.8 path ``ndsampler.coco_regions`` (see :mod:`ndsampler._compat08`)."""
from __future__ import annotations

import itertools as it
from typing import Any, Iterable

import kwarray
import kwimage
import numpy as np
import ubelt as ub

from ndsampler import isect_indexer
from ndsampler.errors import MissingNegativePool
from ndsampler.regions import CocoRegions, Targets, new_sample_grid, select_positive_regions, tabular_coco_targets
from ndsampler.utils import util_misc

__all__ = ['CocoRegions', 'MissingNegativePool', 'Targets', 'new_image_sample_grid', 'new_video_sample_grid',
           'select_positive_regions', 'tabular_coco_targets', 'isect_indexer', 'util_misc', 'it', 'kwarray',
           'kwimage', 'np', 'ub']

_NEGATIVE_CLASSES = ('ignore', 'background')


def _grid(task: str, dset, window_dims: Any, window_overlap: Any, classes_of_interest: Iterable[Any] | None,
          ignore_coverage_thresh: float | None, negative_classes: Iterable[str], use_annots: bool) -> dict:
    regions = CocoRegions(dset, negative_classes=negative_classes)
    return new_sample_grid(regions, task, window_dims, window_overlap, use_annots=use_annots,
                           classes_of_interest=classes_of_interest, ignore_coverage_thresh=ignore_coverage_thresh)


def new_image_sample_grid(dset, window_dims: Any, window_overlap: Any = 0.0,
                          classes_of_interest: Iterable[Any] | None = None, ignore_coverage_thresh: float | None = 0.6,
                          negative_classes: Iterable[str] = _NEGATIVE_CLASSES, use_annots: bool = True,
                          legacy: bool = True, verbose: int = 1) -> dict:
    """0.8's per-image grid over a dataset: :func:`ndsampler.regions.new_sample_grid` with ``'image_detection'``.

    ``legacy`` and ``verbose`` are accepted and have no effect.
    """
    return _grid('image_detection', dset, window_dims, window_overlap, classes_of_interest,
                 ignore_coverage_thresh, negative_classes, use_annots)


def new_video_sample_grid(dset, window_dims: Any = None, window_overlap: Any = 0.0,
                          classes_of_interest: Iterable[Any] | None = None, ignore_coverage_thresh: float | None = 0.6,
                          negative_classes: Iterable[str] = _NEGATIVE_CLASSES, use_annots: bool = True,
                          legacy: bool = True, verbose: int = 1) -> dict:
    """0.8's space-time grid over a dataset's videos: :func:`ndsampler.regions.new_sample_grid` with
    ``'video_detection'``; ``window_dims`` is ``(t, h, w)``.

    ``legacy`` and ``verbose`` are accepted and have no effect.
    """
    return _grid('video_detection', dset, window_dims, window_overlap, classes_of_interest,
                 ignore_coverage_thresh, negative_classes, use_annots)
