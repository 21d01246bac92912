"""ndsampler 0.8 path ``ndsampler.category_tree`` (see :mod:`ndsampler._compat08`)."""
from ndsampler._category_tree import CategoryTree, entropy, gini, sink_nodes, source_nodes

__all__ = ['CategoryTree']
