"""ndsampler 0.8 path ``ndsampler.utils.util_shape`` (see :mod:`ndsampler._compat08`)."""
from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ['nestshape', 'np']


def nestshape(data: Any) -> Any:
    """The same nesting of dicts / lists / tuples with each array or tensor replaced by its shape.

    Example
    -------
    >>> nestshape({'im': np.zeros((2, 3)), 'parts': [np.zeros(4), 'label']})
    {'im': (2, 3), 'parts': [(4,), 'label']}
    """
    if isinstance(data, dict):
        return {key: nestshape(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return type(data)(nestshape(value) for value in data)
    shape = getattr(data, 'shape', None)
    return data if shape is None else tuple(shape)
