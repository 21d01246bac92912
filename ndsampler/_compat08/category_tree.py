"""ndsampler 0.8 path ``ndsampler.category_tree`` (see :mod:`ndsampler._compat08`).

Star-imports give ``CategoryTree`` only (0.8.1's ``__all__``); the helper modules 0.8.1's
module had as globals are here too, for code (and doctests) run in this module's namespace.
"""
import functools

import kwarray
import networkx as nx
import numpy as np
import ubelt as ub

from ndsampler._category_tree import CategoryTree, entropy, gini, sink_nodes, source_nodes

__all__ = ['CategoryTree']
