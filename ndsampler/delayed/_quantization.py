"""kwcoco quantization dicts: the defaults delayed_image fills in, and the checks on the values given."""
from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np

from ndsampler.errors import InvalidOptionError

__all__ = ['QUANTIZATION_DEFAULTS', 'coerce_quantization']

#: What a missing key means (as in delayed_image): ``quant_max`` alone is required.
QUANTIZATION_DEFAULTS = {'orig_dtype': 'float32', 'orig_min': 0, 'orig_max': 1, 'quant_min': 0, 'nodata': None}

_NUMBER_KEYS = ('orig_min', 'orig_max', 'quant_min', 'quant_max')


def _is_real(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def coerce_quantization(quantization: Any) -> dict[str, Any]:
    """A complete quantization dict: the given keys checked, the missing ones filled with :data:`QUANTIZATION_DEFAULTS`.

    Keys other than ``orig_dtype, orig_min, orig_max, quant_min, quant_max,
    nodata`` are kept and ignored, as delayed_image does.

    Raises
    ------
    InvalidOptionError
        ``quantization`` is not a dict, has no ``quant_max``, a bound that is not a
        finite number, ``quant_max == quant_min``, a ``nodata`` that is not a number
        (or None), or an ``orig_dtype`` that is not a float dtype.

    Example
    -------
    >>> q = coerce_quantization({'quant_max': 255, 'nodata': 0})
    >>> [q[k] for k in ('orig_min', 'orig_max', 'quant_min', 'quant_max', 'nodata', 'orig_dtype')]
    [0, 1, 0, 255, 0, 'float32']
    """
    if not isinstance(quantization, Mapping):
        raise InvalidOptionError('quantization', quantization, 'a dict with quant_max and optional '
                                 'orig_min (0), orig_max (1), quant_min (0), nodata (None), orig_dtype (float32)')
    if 'quant_max' not in quantization:
        raise InvalidOptionError('quantization', dict(quantization), 'a dict with quant_max (the other keys default '
                                 'to orig_min=0, orig_max=1, quant_min=0, nodata=None, orig_dtype=float32)')
    q = {**QUANTIZATION_DEFAULTS, **quantization}
    for key in _NUMBER_KEYS:
        if not (_is_real(q[key]) and math.isfinite(q[key])):
            raise InvalidOptionError(f"quantization['{key}']", q[key], 'a finite number')
    if q['quant_max'] == q['quant_min']:
        raise InvalidOptionError("quantization['quant_max']", q['quant_max'],
                                 f"a number other than quant_min={q['quant_min']!r}")
    if q['nodata'] is not None and not _is_real(q['nodata']):
        raise InvalidOptionError("quantization['nodata']", q['nodata'], 'None or a number')
    try:
        kind = np.dtype(q['orig_dtype']).kind
    except TypeError:
        kind = None
    if kind != 'f':
        raise InvalidOptionError("quantization['orig_dtype']", q['orig_dtype'], 'a float dtype (e.g. float32)')
    return q
