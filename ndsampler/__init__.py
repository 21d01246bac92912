"""ndsampler: correct windows with their annotations from images far larger than one network input.

The public surface is re-exported here; everything else lives in sub-packages
(``ndsampler.channels``, ``ndsampler.delayed``, ``ndsampler.frames``, ...) whose
implementation modules are private.

Example
-------
>>> import ndsampler
>>> sampler = ndsampler.CocoSampler.demo('shapes8')  # doctest: +SKIP
>>> sample = sampler.load_positive(0)  # doctest: +SKIP
>>> sample['im'].shape, sample['annots']['frame_dets'][0].boxes  # doctest: +SKIP
"""
__version__ = '0.9.0'

from ndsampler import errors
from ndsampler.channels import ChannelSpec, FusedChannelSpec, SensorChanSpec
from ndsampler.delayed import (
    DelayedChannelConcat,
    DelayedCrop,
    DelayedDequantize,
    DelayedIdentity,
    DelayedImage,
    DelayedLoad,
    DelayedOverview,
    DelayedWarp,
)
from ndsampler.errors import NdsamplerError
from ndsampler.frames import CocoFrames, Frames, PrepareSummary, SimpleFrames
from ndsampler.regions import CocoRegions
from ndsampler.sampler import CocoSampler
from ndsampler.stack import ImageStack, ImageStackSQL, convert_image_dtype, export_samples
from ndsampler.stitch import CocoStitchingManager, Stitcher, dequantize, quantize_image

__all__ = [
    '__version__',
    'errors',
    'NdsamplerError',
    # channels
    'ChannelSpec',
    'FusedChannelSpec',
    'SensorChanSpec',
    # delayed operations
    'DelayedImage',
    'DelayedLoad',
    'DelayedIdentity',
    'DelayedCrop',
    'DelayedWarp',
    'DelayedDequantize',
    'DelayedOverview',
    'DelayedChannelConcat',
    # cache and sampling
    'Frames',
    'CocoFrames',
    'SimpleFrames',
    'PrepareSummary',
    'CocoRegions',
    'CocoSampler',
    # stitching
    'Stitcher',
    'CocoStitchingManager',
    'quantize_image',
    'dequantize',
    # image stacks
    'ImageStack',
    'ImageStackSQL',
    'convert_image_dtype',
    'export_samples',
]
