"""Image stacks: list-like stacks of one-dtype images, in RAM or spilling to SQLite (SPEC §9)."""
from ndsampler.stack._dtype import convert_image_dtype, image_dtype
from ndsampler.stack._export import export_samples
from ndsampler.stack._sql import ImageStackSQL
from ndsampler.stack._stack import ImageStack

__all__ = ['ImageStack', 'ImageStackSQL', 'convert_image_dtype', 'image_dtype', 'export_samples']
