"""ndsampler 0.8.1's module paths, as thin modules over this package's implementation.

``ndsampler/__init__.py`` appends this directory to ``ndsampler.__path__``, so that
``import ndsampler.coco_sampler`` (or ``abstract_frames``, ``abstract_sampler``,
``category_tree``, ``coco_dataset``, ``coco_frames``, ``coco_regions``, ``coerce_data``,
``frame_cache``, ``isect_indexer``, ``toydata``, ``utils.*``) finds the module of that name
here. Each module re-exports the names 0.8.1's module of the same path offers (its
``__all__`` or, where it had none, its public names, including the modules it imported,
e.g. ``np`` and ``ub``, since 0.8 examples start with ``from ndsampler.coco_sampler import *``).
Only thin adapters live here (0.8 signatures over our functions); the implementation stays in
the sub-packages. Import these modules by their 0.8 path, never as ``ndsampler._compat08.<name>``.
"""
