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

import importlib as _importlib
import os as _os

# ndsampler 0.8.1's module paths (ndsampler.coco_sampler, ndsampler.utils.util_gdal, ...) are thin
# modules in ndsampler/_compat08/: this puts them on the package's search path (see COMPAT.md).
__path__.append(_os.path.join(_os.path.dirname(__file__), '_compat08'))

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
    # ndsampler 0.8.1 names, loaded on first use
    'AbstractSampler',
    'CategoryTree',
    'DynamicToySampler',
    'FrameIntersectionIndex',
    'HashIdentifiable',
    'MissingNegativePool',
    'Targets',
    'select_positive_regions',
    'tabular_coco_targets',
    'abstract_frames',
    'abstract_sampler',
    'category_tree',
    'coco_frames',
    'coco_regions',
    'coco_sampler',
    'isect_indexer',
    'toydata',
]

#: ndsampler 0.8.1 top-level names -> the module that defines them (imported on first access,
#: so ``import ndsampler`` stays as fast as without them).
_LAZY_NAMES = {
    'AbstractSampler': 'ndsampler.sampler',
    'CategoryTree': 'ndsampler._category_tree',
    'DynamicToySampler': 'ndsampler.demodata',
    'FrameIntersectionIndex': 'ndsampler.regions',
    'HashIdentifiable': 'ndsampler._hashid',
    'MissingNegativePool': 'ndsampler.errors',
    'Targets': 'ndsampler.regions',
    'select_positive_regions': 'ndsampler.regions',
    'tabular_coco_targets': 'ndsampler.regions',
}
#: ndsampler 0.8.1 modules reachable as attributes (``ndsampler.coco_sampler``) without an import (0.8.1's
#: ``import ndsampler`` imported these, ``utils`` and ``frame_cache`` included).
_LAZY_MODULES = frozenset({'abstract_frames', 'abstract_sampler', 'category_tree', 'coco_frames', 'coco_regions',
                           'coco_sampler', 'isect_indexer', 'toydata', 'utils', 'frame_cache'})


def __getattr__(name: str) -> object:
    """Import an ndsampler 0.8.1 module or name on first access (PEP 562)."""
    if name in _LAZY_MODULES:
        return _importlib.import_module(f'{__name__}.{name}')
    if name in _LAZY_NAMES:
        value = getattr(_importlib.import_module(_LAZY_NAMES[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
