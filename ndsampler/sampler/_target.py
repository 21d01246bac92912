"""Target resolution: a user's target dict -> a complete, validated target.

A pure function of the target and the dataset index; the caller's dicts
(including a nested ``padkw``) are never mutated.
"""
from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np

from ndsampler._typing import Target
from ndsampler.errors import InvalidOptionError, TargetError
from ndsampler.delayed._kernels import INTERPOLATIONS
from ndsampler.geometry import normalize_slices, window_from_center
from ndsampler.sampler._index import DatasetIndex
from ndsampler.sampler._validate import (DEFAULT_MAX_SAMPLE_BYTES, TARGET_CHECKS, check_sample_size, check_target,
                                         output_shape)

__all__ = ['resolve_target', 'is_space_time', 'TARGET_KEYS', 'INTERPOLATIONS']

#: Aliases accepted for ndsampler 0.8 / kwcoco spellings -> canonical key.
ALIASES = {'image_id': 'gid', 'video_id': 'vidid', 'image_ids': 'gids', 'annot_id': 'aid'}

#: Keys that choose what is sampled.
_WHERE_KEYS = {'gid', 'vidid', 'gids', 'aid', 'slices', 'space_slice', 'time_slice',
               'cx', 'cy', 'width', 'height', 'window_dims'}
#: Keys that choose how it is sampled (defaults below).
_OPTION_DEFAULTS: dict[str, Any] = {
    'channels': None,
    'pad': 0,
    'padkw': None,
    'dtype': None,
    'nodata': None,
    'interpolation': 'auto',
    'antialias': 'auto',
    'scale': None,
    'dsize': None,
    'use_native_scale': False,
    'realign_native': False,
    'finalize': True,
    'optimize': True,
    'as_xarray': False,
}
_OPTION_KEYS = frozenset(_OPTION_DEFAULTS)
#: Resolved options of a target that gives none (``pad`` and ``padkw`` are set per target).
_RESOLVED_DEFAULTS = {**_OPTION_DEFAULTS, 'interpolation': 'linear', 'antialias': True}
_NO_PAD = {2: ((0, 0),) * 2, 3: ((0, 0),) * 3}
#: Keys that carry information (set by regions, grids or an earlier resolution) and are passed through.
_INFO_KEYS = {'category_id', 'label', 'rel_cx', 'rel_cy', 'annot_idx', 'main_idx', 'aids', 'cids',
              'space_dims', 'data_dims', 'frame_gids', 'anchor', 'jitter'}
#: ndsampler 0.8 options that have no effect here (``sample['tr']`` is always set, annotations always
#: come in both forms, nothing is printed); accepted, also in strict mode.
_NO_EFFECT_KEYS = {'legacy_target', 'legacy_annots', 'verbose_ndsample'}

#: Every key the sampler knows. Other keys (a client's own bookkeeping) are kept in the resolved
#: target and ignored, or rejected with ``strict=True``.
TARGET_KEYS = frozenset(_WHERE_KEYS | set(_OPTION_DEFAULTS) | _INFO_KEYS | _NO_EFFECT_KEYS | set(ALIASES))
_ALIAS_KEYS = frozenset(ALIASES)
_CHECKED_KEYS = frozenset(TARGET_CHECKS)


def _canonical(target: Mapping[str, Any], overrides: Mapping[str, Any] | None, strict: bool) -> dict[str, Any]:
    """Copy the target, aliases renamed and known keys checked; unknown keys are kept (rejected when ``strict``)."""
    out: dict[str, Any] = {}
    for source in (check_target(target), overrides or {}):
        if strict and not TARGET_KEYS.issuperset(source):
            key = next(k for k in source if k not in TARGET_KEYS)
            raise TargetError(f'unknown target key {key!r} (strict targets); allowed: '
                              f'{", ".join(sorted(TARGET_KEYS))}')
        if _ALIAS_KEYS.isdisjoint(source):
            out.update(source)
            continue
        for key, value in source.items():
            canon = ALIASES.get(key, key)
            if canon != key and canon in source and source[canon] != value:
                raise TargetError(f'target gives both {key}={value!r} and {canon}={source[canon]!r}')
            out[canon] = value
    for key in _CHECKED_KEYS.intersection(out):
        value = out[key]
        if value is not None and value is not _RESOLVED_DEFAULTS.get(key):  # a default is valid (a resolved target's)
            out[key] = TARGET_CHECKS[key](value)
    return out


def _fill_from_annot(tr: dict[str, Any], index: DatasetIndex) -> None:
    """Fill gid, the centre / size and category of ``tr['aid']`` where missing."""
    ann = index.ann(tr['aid'])
    if tr.get('gid') is None and tr.get('vidid') is None and tr.get('gids') is None:
        tr['gid'] = ann['image_id']
    tr.setdefault('category_id', ann.get('category_id'))
    if all(tr.get(k) is not None for k in ('cx', 'cy', 'width', 'height')) or 'bbox' not in ann:
        return
    x, y, w, h = (float(v) for v in ann['bbox'])
    cx, cy = x + w / 2.0, y + h / 2.0
    if tr.get('gid') is None:  # a video target: the box lives in its image's space
        warp = index.warp_img_to_vid(ann['image_id'])
        cx, cy = (float(v) for v in warp.matrix[:2] @ np.array([cx, cy, 1.0]))
        sx, sy = np.linalg.norm(warp.matrix[:2, :2], axis=0)
        w, h = w * float(sx), h * float(sy)
    for key, value in (('cx', cx), ('cy', cy), ('width', w), ('height', h)):
        if tr.get(key) is None:
            tr[key] = value


def _window_dims(tr: dict[str, Any]) -> tuple[int, int]:
    """Window ``(h, w)`` for a centre target from ``window_dims`` and width / height."""
    dims = tr.get('window_dims')
    if dims is None:
        dims = 'extent'
    if isinstance(dims, str):  # 'extent' or 'square' (checked)
        missing = [k for k in ('width', 'height') if tr.get(k) is None]
        if missing:
            raise TargetError(f'window_dims={dims!r} needs {" and ".join(missing)} in the target')
        h, w = math.ceil(float(tr['height']) - 1e-9), math.ceil(float(tr['width']) - 1e-9)
        if dims == 'square':
            h = w = max(h, w)
        return int(h), int(w)
    dims = tuple(dims)  # two or three ints (checked)
    return dims[-2], dims[-1]


def _normalize_pad(pad: Any, ndim: int) -> tuple[tuple[int, int], ...]:
    """``(before, after)`` per axis (t, y, x for video; y, x for images) of a checked ``pad``."""
    if pad is None or (type(pad) is int and pad >= 0):
        return ((pad or 0, pad or 0),) * ndim
    if np.isscalar(pad):
        items = [pad] * ndim
    else:
        items = list(pad)
        if len(items) == 2 and ndim == 3:
            items = [0] + items
    if len(items) != ndim:
        raise InvalidOptionError('pad', pad, f'an int, or {ndim} ints or (before, after) pairs')
    pairs = []
    for item in items:
        pair = (item, item) if np.isscalar(item) else tuple(item)
        if len(pair) != 2:
            raise InvalidOptionError('pad', pad, f'an int, or {ndim} ints or (before, after) pairs')
        pairs.append((int(pair[0]), int(pair[1])))
    return tuple(pairs)


def _resolve_options(tr: dict[str, Any], ndim: int) -> None:
    """Fill every option: defaults (validated once, at import) where absent or None, the given ones checked."""
    given = {key: tr[key] for key in _OPTION_KEYS.intersection(tr) if tr[key] is not None}
    tr.update(_RESOLVED_DEFAULTS)
    tr['pad'] = _NO_PAD[ndim]
    tr['padkw'] = {'mode': 'constant'}
    if given:
        tr.update(given)
        _check_options(tr, given, ndim)


def _check_options(tr: dict[str, Any], given: Mapping[str, Any], ndim: int) -> None:
    """Normalize and validate the options the target gives (``given``) in ``tr``."""
    if 'pad' in given:
        tr['pad'] = _normalize_pad(given['pad'], ndim)
    if 'channels' in given:
        tr['channels'] = _channel_code(given['channels'])
    if 'padkw' in given:
        padkw = dict(given['padkw'])
        padkw.setdefault('mode', 'constant')
        tr['padkw'] = padkw
    if 'interpolation' in given or 'antialias' in given:
        if tr['interpolation'] == 'auto':
            tr['interpolation'] = 'linear'
        if given.get('antialias', 'auto') == 'auto':
            tr['antialias'] = tr['interpolation'] != 'nearest'
    if tr['scale'] is not None and tr['dsize'] is not None:
        raise TargetError(f"target gives both scale={tr['scale']!r} and dsize={tr['dsize']!r}; give one")
    if 'scale' in given:
        scale = (tr['scale'],) * 2 if np.ndim(tr['scale']) == 0 else tuple(tr['scale']) * (3 - len(tr['scale']))
        tr['scale'] = (float(scale[0]), float(scale[1]))


def _channel_code(channels: Any) -> Any:
    """A channel spec object (ours, kwcoco's or delayed_image's) as its ``spec`` string; others as given."""
    spec = getattr(channels, 'spec', None)
    return spec if isinstance(spec, str) and not isinstance(channels, str) else channels


def is_space_time(tr: Target) -> bool:
    """True for a resolved space-time target (``gids``, ``time_slice``, ``(T, H, W, C)`` pixels).

    A video target, or ``gids`` / ``image_ids`` naming one image that has no video
    (``vidid`` None, the image's own space, as ndsampler 0.8 falls back to).
    """
    return tr.get('gids') is not None


def _split_slices(tr: dict[str, Any], ndim: int) -> tuple[Any, Any]:
    """``(time_slice, space_slice)`` from ``slices`` / ``space_slice`` / ``time_slice``."""
    space_slice, time_slice = tr.get('space_slice'), tr.get('time_slice')
    slices = tr.get('slices')
    if slices is not None:
        slices = tuple(slices) if isinstance(slices, (tuple, list)) else (slices,)
        if len(slices) == 3:
            if ndim == 2:
                raise TargetError(f'slices={slices!r} has a time axis but the target is one image; '
                                  'give vidid / gids for a space-time target')
            time_slice = slices[0] if time_slice is None else time_slice
            slices = slices[1:]
        elif len(slices) != 2:
            raise TargetError(f'slices={slices!r} must be (y, x) or (t, y, x)')
        space_slice = slices if space_slice is None else space_slice
    return time_slice, space_slice


def resolve_target(target: Mapping[str, Any], index: DatasetIndex,
                   overrides: Mapping[str, Any] | None = None, strict: bool = False,
                   max_bytes: int = DEFAULT_MAX_SAMPLE_BYTES) -> Target:
    """Resolve a target dict into a complete one (a new dict).

    Parameters
    ----------
    target : dict
        ndsampler 0.8 target: ``gid``/``image_id``, or ``vidid``/``video_id``
        and/or ``gids``/``image_ids``; ``aid``; a region by ``slices``,
        ``space_slice`` + ``time_slice`` or ``cx, cy, width, height`` with
        ``window_dims``; options (``channels``, ``pad``, ``padkw``, ``scale``,
        ``dsize``, ...).
    index : DatasetIndex
        Lookups into the dataset.
    overrides : dict, optional
        Keys that take precedence over ``target`` (legacy keyword arguments).
    strict : bool
        Reject keys outside :data:`TARGET_KEYS` (by default they are kept in the
        resolved target and ignored, as ndsampler 0.8 does).
    max_bytes : int
        Refuse a target whose output pixels would take more bytes (see
        :func:`ndsampler.sampler._validate.check_sample_size`), before anything is built.

    Returns
    -------
    dict
        ``gid`` (images) or ``vidid`` + ``gids`` + ``time_slice`` (videos, and ``gids`` of
        one image without a video, ``vidid`` None, in the image's space; explicit
        ``gids`` are kept and win over a ``time_slice`` that disagrees with them, which
        then records their span in the video; otherwise ``gids`` are the video frames
        inside ``time_slice``),
        ``space_slice``, ``slices``, ``space_dims``, ``data_dims``, ``frame_gids`` (one
        entry per frame of the *padded* time window: neighbouring video frames, None where
        it leaves the video) and every option filled with its default.

    Raises
    ------
    TargetError
        Not a dict, unknown keys (``strict``), no source id, conflicting keys, frames of several videos.
    InvalidOptionError
        A known key with a value of the wrong type or outside its range.
    SampleTooLargeError
        The output would exceed ``max_bytes``.
    """
    tr = _canonical(target, overrides, strict)
    if tr.get('aid') is not None and tr['aid'] >= 0:  # negatives carry aid=-1
        _fill_from_annot(tr, index)
    gid, vidid, gids = tr.get('gid'), tr.get('vidid'), tr.get('gids')
    if vidid is not None or gids is not None:
        ndim = 3
        explicit_gids = gids is not None
        if explicit_gids:
            gids = [int(g) for g in gids]
            vidids = {index.video_of(g) for g in gids}
            if vidid is None and len(vidids) == 1:
                vidid = vidids.pop()
            if (vidid is None and len(gids) != 1) or vidids - {vidid}:
                raise TargetError(f'gids={gids!r} must be frames of one video, or one image without a video '
                                  f'(their video ids: {sorted(map(str, vidids))})')
        space_dims = index.video_dims(vidid) if vidid is not None else index.image_dims(gids[0])
        tr['vidid'] = vidid
        tr.pop('gid', None)
    elif gid is not None:
        ndim = 2
        gids = [gid]
        space_dims = index.image_dims(gid)
    else:
        raise TargetError(f'target {dict(target)!r} names no image or video; give gid / image_id, '
                          'vidid / video_id, gids / image_ids or aid')
    _resolve_options(tr, ndim)

    time_slice, space_slice = _split_slices(tr, ndim)
    if space_slice is None and tr.get('cx') is not None:
        if tr.get('cy') is None:
            raise TargetError('target gives cx but not cy')
        h, w = _window_dims(tr)
        tr['window_dims'] = (h, w)
        space_slice = window_from_center(tr['cx'], tr['cy'], w, h)
    space_slice = normalize_slices(space_slice if space_slice is not None else (), space_dims, wrap=False)
    tr['space_slice'] = space_slice
    tr['space_dims'] = space_dims
    (pad_t, pad_b), (pad_l, pad_r) = tr['pad'][-2:]
    window_hw = (space_slice[0].stop - space_slice[0].start + pad_t + pad_b,
                 space_slice[1].stop - space_slice[1].start + pad_l + pad_r)
    out_hw = output_shape(window_hw, tr['scale'], tr['dsize'])
    if ndim == 2:
        check_sample_size(1, out_hw, tr, max_bytes)
        tr['gid'] = gid
        tr['slices'] = space_slice
        tr['data_dims'] = space_dims
        tr['frame_gids'] = [gid]
        return tr
    video_gids = index.video_gids(vidid) if vidid is not None else gids
    if explicit_gids and time_slice is not None:
        # a resolved target: keep its time window when it agrees with its gids
        (time_slice,) = normalize_slices((time_slice,), (len(video_gids),), wrap=False)
        inside = video_gids[max(time_slice.start, 0):max(min(time_slice.stop, len(video_gids)), 0)]
        explicit_gids = list(inside) != gids
    if not explicit_gids:
        (time_slice,) = normalize_slices((time_slice,) if time_slice is not None else (), (len(video_gids),), wrap=False)
    n_frames = len(gids) if explicit_gids else time_slice.stop - time_slice.start
    check_sample_size(n_frames + sum(tr['pad'][0]), out_hw, tr, max_bytes)
    if explicit_gids:
        positions = [index.frame_position(vidid, g) for g in gids] if vidid is not None else [0]
        time_slice = slice(positions[0], positions[-1] + 1) if positions else slice(0, 0)
        before = [video_gids[t] if t >= 0 else None for t in range(time_slice.start - tr['pad'][0][0], time_slice.start)]
        after = [video_gids[t] if t < len(video_gids) else None for t in range(time_slice.stop, time_slice.stop + tr['pad'][0][1])]
        frame_gids = before + list(gids) + after
    else:
        padded = range(time_slice.start - tr['pad'][0][0], time_slice.stop + tr['pad'][0][1])
        frame_gids = [video_gids[t] if 0 <= t < len(video_gids) else None for t in padded]
        gids = video_gids[max(time_slice.start, 0):max(min(time_slice.stop, len(video_gids)), 0)]
    tr['time_slice'] = time_slice
    tr['gids'] = list(gids)
    tr['frame_gids'] = frame_gids
    tr['slices'] = (time_slice,) + space_slice
    tr['data_dims'] = (len(video_gids),) + space_dims
    return tr
