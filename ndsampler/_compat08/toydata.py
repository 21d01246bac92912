"""ndsampler 0.8 path ``ndsampler.toydata`` (see :mod:`ndsampler._compat08`); the generators live in kwcoco."""
import kwarray
import kwimage
import networkx as nx
import numpy as np
from kwcoco.demo.toydata import demodata_toy_dset, demodata_toy_img
from kwcoco.demo.toypatterns import CategoryPatterns

from ndsampler import abstract_sampler, category_tree
from ndsampler.demodata import DynamicToySampler

__all__ = ['DynamicToySampler', 'CategoryPatterns', 'demodata_toy_dset', 'demodata_toy_img', 'abstract_sampler',
           'category_tree', 'kwarray', 'kwimage', 'nx', 'np']
