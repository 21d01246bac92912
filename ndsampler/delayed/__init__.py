"""Lazy image operations (SPEC §4): nothing is read until ``finalize()``.

Build a tree from a :class:`DelayedLoad` (a file) or :class:`DelayedIdentity`
(an array) with ``crop`` / ``[...]``, ``warp`` / ``scale`` / ``resize``,
``dequantize``, ``get_overview``, ``take_channels`` and
:class:`DelayedChannelConcat`; ``optimize()`` rewrites it into a cheaper
equivalent and ``finalize()`` computes an (H, W, C) array.

Example
-------
>>> import numpy as np
>>> from ndsampler.delayed import DelayedIdentity
>>> node = DelayedIdentity(np.arange(64, dtype=np.float32).reshape(8, 8)).scale(0.5)[1:3, 1:3]
>>> node.finalize().shape
(2, 2, 1)
"""
from ndsampler.delayed import readers
from ndsampler.delayed._nodes import (DelayedChannelConcat, DelayedCrop, DelayedDequantize, DelayedIdentity,
                                      DelayedImage, DelayedLoad, DelayedNans, DelayedOverview, DelayedWarp)
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
    'readers',
    'get_reader',
]
