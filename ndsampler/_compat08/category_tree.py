"""ndsampler 0.8 path ``ndsampler.category_tree`` (see :mod:`ndsampler._compat08`).

Star-imports give ``CategoryTree`` only (0.8.1's ``__all__``); the helper modules 0.8.1's
module had as globals are here too, for code (and doctests) run in this module's namespace.
"""
import functools  # noqa: F401 (0.8.1 module global)

import kwarray  # noqa: F401 (0.8.1 module global)
import networkx as nx  # noqa: F401 (0.8.1 module global)
import numpy as np  # noqa: F401 (0.8.1 module global)
import ubelt as ub  # noqa: F401 (0.8.1 module global)

from ndsampler._category_tree import CategoryTree, entropy, gini, sink_nodes, source_nodes  # noqa: F401

__all__ = ['CategoryTree']
