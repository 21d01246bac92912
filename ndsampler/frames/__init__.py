"""Frames: image ids -> assets -> cached frames (COG / npy / none) -> delayed trees; ``prepare``.

Example
-------
>>> from ndsampler.frames import SimpleFrames, PrepareSummary
"""
from ndsampler.frames._alignable import AlignableImageData
from ndsampler.frames._coco import CocoFrames
from ndsampler.frames._dask import dask_executor
from ndsampler.frames._frames import NODATA_OPTIONS, STATE_ORDER, Frames
from ndsampler.frames._lazy import LazyRaster
from ndsampler.frames._prepare import PrepareSummary, check_workers
from ndsampler.frames._records import Asset, ImageRecord
from ndsampler.frames._simple import SimpleFrames
from ndsampler.frames._validate import SourceMismatch, format_mismatches
from ndsampler.frames._window import nodata_pixels, read_window

__all__ = ['Frames', 'CocoFrames', 'SimpleFrames', 'PrepareSummary', 'Asset', 'ImageRecord', 'STATE_ORDER',
           'NODATA_OPTIONS', 'check_workers', 'SourceMismatch',
           'format_mismatches', 'LazyRaster', 'dask_executor', 'AlignableImageData', 'read_window', 'nodata_pixels']
