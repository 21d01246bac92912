"""ndsampler 0.8 path ``ndsampler.coco_dataset``: kwcoco's ``CocoDataset`` (see :mod:`ndsampler._compat08`)."""
from kwcoco.coco_dataset import CocoDataset

__all__ = ['CocoDataset']
