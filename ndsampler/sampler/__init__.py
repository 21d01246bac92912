"""CocoSampler: targets -> delayed trees -> pixels + annotations in sample coordinates (SPEC §6)."""
from ndsampler.sampler._abstract import AbstractSampler
from ndsampler.sampler._annots import ANNOT_KINDS, parse_with_annots, render_class_mask
from ndsampler.sampler._index import DatasetIndex
from ndsampler.sampler._sampler import CocoSampler
from ndsampler.sampler._target import INTERPOLATIONS, TARGET_KEYS, resolve_target

__all__ = [
    'CocoSampler',
    'resolve_target',
    'DatasetIndex',
    'parse_with_annots',
    'render_class_mask',
    'TARGET_KEYS',
    'INTERPOLATIONS',
    'ANNOT_KINDS',
    'AbstractSampler',
]
