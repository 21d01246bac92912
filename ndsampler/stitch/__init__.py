"""Stitching window outputs back into full rasters (SPEC §8).

:class:`Stitcher` accumulates weighted windows into a canvas (RAM, disk or a torch
device); :class:`CocoStitchingManager` does so per kwcoco image, writes each finished
image as a COG / PNG asset and registers it; :func:`quantize_image` / :func:`dequantize`
convert between float results and compact integer files.
"""
from ndsampler.stitch._manager import STITCHING_SPACES, CocoStitchingManager
from ndsampler.stitch._quantize import dequantize, quantization_for, quantize_image
from ndsampler.stitch._stitcher import EDGE_KINDS, FLOAT_DTYPES, Stitcher, coerce_float_dtype, edge_weights
from ndsampler.stitch._writer import WriterQueue

__all__ = [
    'Stitcher', 'edge_weights', 'EDGE_KINDS', 'FLOAT_DTYPES', 'coerce_float_dtype', 'CocoStitchingManager', 'STITCHING_SPACES', 'WriterQueue',
    'quantize_image', 'dequantize', 'quantization_for',
]
