"""ndsampler 0.8 path ``ndsampler.utils.util_sklearn``: kwcoco's ``StratifiedGroupKFold``
(see :mod:`ndsampler._compat08`)."""
from kwcoco.util.util_sklearn import StratifiedGroupKFold

__all__ = ['StratifiedGroupKFold']
