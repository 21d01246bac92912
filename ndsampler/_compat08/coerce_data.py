"""ndsampler 0.8 path ``ndsampler.coerce_data`` (see :mod:`ndsampler._compat08`)."""
import ubelt as ub

from ndsampler._datasets import coerce_datasets, split_train_vali_test as _split_train_vali_test  # noqa: F401

__all__ = ['coerce_datasets', 'ub']
