"""The sampler's input checks: known target keys, ``load_sample`` arguments and the sample size guard.

:func:`ndsampler.sampler.resolve_target` runs :data:`TARGET_CHECKS` once per key
the target gives (unknown keys pass through), so a bad value raises one of our
errors naming the key, the value and what is allowed before any lookup or
arithmetic uses it. :func:`check_sample_size` refuses a request whose output
would exceed a byte limit before anything is allocated or read.
"""
from __future__ import annotations

import math
import numbers
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ndsampler._validate import check_bool, check_choice, check_int, check_int_tuple, check_real, is_integer
from ndsampler.delayed._kernels import INTERPOLATIONS
from ndsampler.errors import InvalidOptionError, SampleTooLargeError, TargetError, WindowError
from ndsampler.sampler._annots import ANNOT_KINDS, parse_with_annots
from ndsampler.sampler._index import DatasetIndex

__all__ = ['TARGET_CHECKS', 'PAD_MODES', 'DEFAULT_MAX_SAMPLE_BYTES', 'check_target',
           'check_load_args', 'output_shape', 'check_sample_size']

#: Default byte limit of one sample's pixels (``CocoSampler.max_sample_bytes``).
DEFAULT_MAX_SAMPLE_BYTES = 2 * 1024 ** 3

#: ``padkw`` modes (numpy's ``np.pad``) and the keyword arguments each one takes.
PAD_MODES: dict[str, tuple[str, ...]] = {
    'constant': ('constant_values',), 'edge': (), 'linear_ramp': ('end_values',),
    'maximum': ('stat_length',), 'mean': ('stat_length',), 'median': ('stat_length',),
    'minimum': ('stat_length',), 'reflect': ('reflect_type',), 'symmetric': ('reflect_type',),
    'wrap': (), 'empty': (),
}

_NUMERIC_KINDS = 'biuf'
_NO_PAD_2D = ((0, 0), (0, 0))


def _id(name: str, what: str, negative_ok: bool = False) -> Callable[[Any], int]:

    def check(value: Any) -> int:
        value = check_int(name, value, what)
        if value < 0 and not negative_ok:
            raise InvalidOptionError(name, value, what)
        return value
    return check


def _gids(value: Any) -> list[int]:
    if type(value) is list and all(type(g) is int for g in value):
        return value
    return list(check_int_tuple('gids', value, allowed='a list of integer image ids'))


def _coordinate(name: str, minimum: float = -math.inf) -> Callable[[Any], float]:
    def check(value: Any) -> Any:
        if type(value) is int and value >= minimum:
            return value
        return check_real(name, value, low=minimum)
    return check


def _slice_bound(value: Any) -> int | None:
    """A slice bound as an int (None stays None); whole-valued reals (``-200.0``, as clients compute them) count."""
    if value is None or type(value) is int:
        return value
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real) and math.isfinite(value) and float(value).is_integer():
        return int(value)
    raise TypeError(value)


_SLICES_ALLOWED = 'slices (whole-number or None bounds, step 1), ints or None per axis'


def _one_slice(name: str, sl: Any, whole: Any) -> Any:
    """``sl`` with int bounds (or an int / None for an axis), else InvalidOptionError naming ``whole``."""
    try:
        if not isinstance(sl, slice):  # None (the whole axis) or an int (one row)
            return _slice_bound(sl)
        if sl.step not in (None, 1):
            raise TypeError(sl.step)
        start, stop = _slice_bound(sl.start), _slice_bound(sl.stop)
    except TypeError:
        raise InvalidOptionError(name, whole, _SLICES_ALLOWED) from None
    return sl if (start is sl.start and stop is sl.stop) else slice(start, stop, sl.step)


def _slices(name: str) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        items = value if isinstance(value, (tuple, list)) else (value,)
        out = []
        for sl in items:
            if type(sl) is slice and type(sl.start) is int and type(sl.stop) is int and sl.step is None:
                out.append(sl)
            else:
                out.append(_one_slice(name, sl, value))
        if all(a is b for a, b in zip(out, items)):
            return value
        return tuple(out) if isinstance(value, (tuple, list)) else out[0]
    return check


def _window_dims(value: Any) -> Any:
    if type(value) is tuple and len(value) == 2 and type(value[0]) is int and type(value[1]) is int \
            and value[0] >= 0 and value[1] >= 0:
        return value
    if isinstance(value, str):
        return check_choice('window_dims', value, ('extent', 'square'))
    return check_int_tuple('window_dims', value, (2, 3), allowed="'extent', 'square' or an (h, w) pair of ints >= 0")


def _pad(value: Any) -> Any:
    if (type(value) is tuple and value == _NO_PAD_2D) or (type(value) is int and value >= 0):  # the common cases
        return value
    return _pad_amounts('pad', value)


def _pad_amounts(name: str, value: Any) -> Any:
    """``value`` when it is an int >= 0 or per-axis ints / ``(before, after)`` pairs of them."""
    if type(value) is int and value >= 0:
        return value
    if type(value) is tuple and all(type(p) is tuple and len(p) == 2 and type(p[0]) is int and type(p[1]) is int
                                    and p[0] >= 0 and p[1] >= 0 for p in value):
        return value  # a resolved target's pairs
    items = [value] if np.isscalar(value) else value
    if isinstance(items, (tuple, list, np.ndarray)):
        pairs = [item if isinstance(item, (tuple, list, np.ndarray)) else (item,) for item in items]
        if all(is_integer(p) and p >= 0 for pair in pairs for p in pair):
            return value
    raise InvalidOptionError(name, value, 'an int >= 0, or per-axis ints / (before, after) pairs of ints >= 0')


def _padkw(value: Any) -> dict:
    if type(value) is dict and len(value) == 1 and type(value.get('mode')) is str and value['mode'] in PAD_MODES:
        return value
    if not isinstance(value, Mapping):
        raise InvalidOptionError('padkw', value, "a dict such as {'mode': 'reflect'} or "
                                                 "{'mode': 'constant', 'constant_values': 0}")
    mode = value.get('mode', 'constant')
    if not isinstance(mode, str) or mode not in PAD_MODES:
        raise InvalidOptionError("padkw['mode']", mode, tuple(PAD_MODES))
    keys = PAD_MODES[mode]
    for key, item in value.items():
        if key == 'mode':
            continue
        if key not in keys:
            raise InvalidOptionError('padkw key', key, f"for mode {mode!r}: 'mode'" + ''.join(f', {k!r}' for k in keys))
        if key == 'reflect_type':
            check_choice("padkw['reflect_type']", item, ('even', 'odd'))
        elif key == 'stat_length':
            if item is not None:
                _pad_amounts("padkw['stat_length']", item)
        elif not isinstance(item, numbers.Real):  # the fill of every padded pixel (the sampler pads in several places)
            raise InvalidOptionError(f'padkw[{key!r}]', item, 'a number')
    return value


def _dtype(value: Any) -> np.dtype:
    try:
        dtype = np.dtype(value)
    except (TypeError, ValueError):
        dtype = None
    if dtype is None or dtype.kind not in _NUMERIC_KINDS:
        raise InvalidOptionError('dtype', value, 'a numeric numpy dtype (bool, int, uint or float, e.g. "uint8")')
    return dtype


def _nodata(value: Any) -> Any:
    if value in ('float', 'auto') if isinstance(value, str) else (
            isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)) and not math.isnan(value)):
        return value
    raise InvalidOptionError('nodata', value, "None, 'float', 'auto' or a number (the value that marks nodata)")


def _interpolation(value: Any) -> str:
    if isinstance(value, str) and (value == 'auto' or value in INTERPOLATIONS):
        return value
    raise InvalidOptionError('interpolation', value, ('auto',) + INTERPOLATIONS)


def _scale(value: Any) -> Any:
    items = (value,) if np.ndim(value) == 0 else value
    if isinstance(items, (tuple, list, np.ndarray)) and len(items) in (1, 2) and not isinstance(value, (str, bytes)):
        try:
            for s in items:
                if check_real('scale', s) <= 0:
                    break
            else:
                return value
        except InvalidOptionError:
            pass
    raise InvalidOptionError('scale', value, 'a finite number > 0 or an (sx, sy) pair of them')


def _flag(name: str, extra: tuple = ()) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        return value if value is True or value is False else check_bool(name, value, extra)
    return check


#: Key -> check of its value (returns it normalized); applied to the keys a target gives, None values skipped.
TARGET_CHECKS: dict[str, Callable[[Any], Any]] = {
    'gid': _id('gid', 'an integer image id'), 'vidid': _id('vidid', 'an integer video id'),
    'aid': _id('aid', 'an integer annotation id (-1 for a negative)', negative_ok=True), 'gids': _gids,
    'cx': _coordinate('cx'), 'cy': _coordinate('cy'),
    'width': _coordinate('width', 0), 'height': _coordinate('height', 0),
    'slices': _slices('slices'), 'space_slice': _slices('space_slice'), 'time_slice': _slices('time_slice'),
    'window_dims': _window_dims, 'pad': _pad, 'padkw': _padkw,
    'dtype': _dtype, 'nodata': _nodata,
    'interpolation': _interpolation, 'antialias': _flag('antialias', ('auto',)), 'scale': _scale,
    'dsize': lambda value: check_int_tuple('dsize', value, (2,), allowed='a (w, h) pair of integers >= 0'),
    'use_native_scale': _flag('use_native_scale'), 'realign_native': _flag('realign_native', ('largest',)),
    'finalize': _flag('finalize'), 'optimize': _flag('optimize'), 'as_xarray': _flag('as_xarray'),
}


def check_target(target: Any) -> Mapping[str, Any]:
    """``target`` when it is a mapping (a target dict), else TargetError."""
    if type(target) is dict or isinstance(target, Mapping):
        return target
    raise TargetError(f'target={target!r} must be a dict (e.g. {{"gid": 1}} or a target from the regions / a grid)')


def check_load_args(index: DatasetIndex, with_annots: Any, annot_ids: Sequence[int] | None,
                    visible_thresh: Any) -> frozenset[str]:
    """Validate ``load_sample``'s own arguments; returns the annotation kinds ``with_annots`` asks for."""
    if not (type(visible_thresh) is float and 0.0 <= visible_thresh <= 1.0):
        check_real('visible_thresh', visible_thresh, 0.0, 1.0)
    if annot_ids is not None:
        for aid in check_int_tuple('annot_ids', annot_ids, minimum=-2 ** 63, allowed='a list of annotation ids'):
            index.ann(aid)
    if with_annots is True or with_annots is False or with_annots is None:
        return parse_with_annots(with_annots)
    if isinstance(with_annots, (str, list, tuple, set, frozenset)) and all(isinstance(k, str) for k in with_annots):
        return parse_with_annots(with_annots)
    raise InvalidOptionError('with_annots', with_annots, "True, False, or '+'-joined / listed kinds from "
                             + ', '.join(repr(k) for k in ANNOT_KINDS))


def output_shape(window_hw: tuple[int, int], scale: tuple[float, float] | None,
                 dsize: tuple[int, int] | None) -> tuple[int, int]:
    """The output ``(H, W)`` of a window ``(h, w)`` sampled at ``scale`` or ``dsize``.

    An empty window gives an empty output (a zero-length axis); a non-empty one never does.
    """
    if dsize is not None:
        out_hw = dsize[1], dsize[0]
    elif scale is not None:
        out_hw = int(round(window_hw[0] * scale[1])), int(round(window_hw[1] * scale[0]))
    else:
        return window_hw
    if (window_hw[0] and not out_hw[0]) or (window_hw[1] and not out_hw[1]):
        how = f'dsize={dsize!r}' if dsize is not None else f'scale={scale!r}'
        raise WindowError(f'window {window_hw[0]}x{window_hw[1]} (h x w) sampled at {how} gives an output of '
                          f'{out_hw[0]}x{out_hw[1]} pixels; the output needs at least one pixel per axis '
                          '(use a larger scale or window)')
    return out_hw


def check_sample_size(n_frames: int, out_hw: tuple[int, int], tr: Mapping[str, Any], limit: int,
                      bands: int | None = None, itemsize: int | None = None) -> None:
    """SampleTooLargeError when the sample's pixels would take more than ``limit`` bytes.

    Without ``bands`` / ``itemsize`` (the target's resolution, before any frame is
    looked at) it counts one band and the smallest item size the options allow
    (``dtype``, else 4 bytes with ``nodata``, else 1): a lower bound, so a refused
    sample is never smaller. The sampler checks again with the frames' own values.
    """
    exact = bands is not None and itemsize is not None
    if itemsize is None:
        dtype = tr['dtype']
        itemsize = dtype.itemsize if dtype is not None else 4 if tr['nodata'] is not None else 1
    nbytes = n_frames * out_hw[0] * out_hw[1] * (bands or 1) * itemsize
    if nbytes > limit:
        shape = (n_frames,) * (n_frames != 1 or 'gids' in tr) + tuple(out_hw) + ((bands,) if bands else ())
        raise SampleTooLargeError(
            f'a sample of {"x".join(map(str, shape))} pixels ({"" if exact else "at least "}{nbytes} bytes) exceeds '
            f'the limit of {limit} bytes (CocoSampler.max_sample_bytes); use a smaller window, pad, scale or dsize')
