"""Offline demo data: large annotated RGB images and a multispectral video (``ndsampler demo``).

Example
-------
>>> from ndsampler.demodata import demo_images, demo_video
"""
from ndsampler.demodata._shapes import SHAPE_CATEGORIES, demo_images
from ndsampler.demodata._toy_sampler import DynamicToySampler
from ndsampler.demodata._video import demo_video

__all__ = ['demo_images', 'demo_video', 'SHAPE_CATEGORIES', 'DynamicToySampler']
