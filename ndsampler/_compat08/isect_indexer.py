"""ndsampler 0.8 path ``ndsampler.isect_indexer`` (see :mod:`ndsampler._compat08`).

0.8 chose between an rtree and a pyqtree index with the ``USE_RTREE`` environment variable;
here there is one vectorised index (:class:`ndsampler.regions.BoxIndex`) and the variable
is not read.
"""
import itertools as it
import os
import warnings

import kwarray
import kwimage
import numpy as np
import ubelt as ub

from ndsampler.regions import FrameIntersectionIndex

__all__ = ['FrameIntersectionIndex', 'it', 'os', 'warnings', 'kwarray', 'kwimage', 'np', 'ub']
