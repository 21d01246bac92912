"""Lazy image operations (SPEC §4): nothing is read until ``finalize()``.

Build a tree from a :class:`DelayedLoad` (a file) or :class:`DelayedIdentity`
(an array) with ``crop`` / ``[...]``, ``warp`` / ``scale`` / ``resize``,
``dequantize``, ``get_overview``, ``take_channels`` and
:class:`DelayedChannelConcat`; ``optimize()`` rewrites it into a cheaper
equivalent and ``finalize()`` computes an (H, W, C) array. :func:`window_pixels`
is the one window read (clip, one reader call for a file, one pad per a
:class:`Padding` rule); crops finalize through the same path.

Example
-------
>>> import numpy as np
>>> from ndsampler.delayed import DelayedIdentity
>>> node = DelayedIdentity(np.arange(64, dtype=np.float32).reshape(8, 8)).scale(0.5)[1:3, 1:3]
>>> node.finalize().shape
(2, 2, 1)
"""
from ndsampler.delayed import readers
from ndsampler.delayed._kernels import Padding, pad_window
from ndsampler.delayed._nodes import (DelayedChannelConcat, DelayedCrop, DelayedDequantize, DelayedIdentity,
                                      DelayedImage, DelayedLoad, DelayedNans, DelayedOverview, DelayedWarp,
                                      window_pixels)
from ndsampler.delayed.readers import get_reader

__all__ = [
    'DelayedImage',
    'DelayedLoad',
    'DelayedIdentity',
    'DelayedNans',
    'DelayedCrop',
    'DelayedWarp',
    'DelayedDequantize',
    'DelayedOverview',
    'DelayedChannelConcat',
    'window_pixels',
    'Padding',
    'pad_window',
    'readers',
    'get_reader',
]
