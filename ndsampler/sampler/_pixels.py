"""Pixels of a sample: one delayed tree per frame, finalized, padded and stacked.

Images and videos share this path: a 2-D target is a video of one frame whose
space is the image's own space.
"""
from __future__ import annotations

import functools
import math
from typing import Any

import kwimage
import numpy as np

from ndsampler._typing import Target
from ndsampler.channels import GENERIC_SENSOR, ChannelSpec, SensorChanSpec
from ndsampler.delayed import DelayedCrop, DelayedLoad, DelayedNans
from ndsampler.delayed._kernels import pad_constant
from ndsampler.errors import ChannelSpecError
from ndsampler.geometry import is_identity, positive_scale_shift
from ndsampler.sampler._index import DatasetIndex

__all__ = ['request_channels', 'space_node', 'frame_tree', 'finalize_frames', 'lean_pixels', 'native_pixels',
           'has_valid_pixels']


def request_channels(frames, index: DatasetIndex, tr: Target) -> str | None:
    """The fused channel code every frame is asked for (None: each frame's own bands).

    A channel spec gives its bands (late-fused streams joined). A sensor spec
    (``'sensor1:B1|B8,sensor2:r'``, see :class:`~ndsampler.channels.SensorChanSpec`)
    gives each frame the streams matching its sensor (``img['sensor']``) and those
    without a sensor prefix; over a video the union of those, in first-seen order
    (a band named twice comes once), so every frame has the same channels (NaN where
    a frame lacks one). ChannelSpecError when it selects no band at all. ``'<all>'`` / None over a video whose
    frames differ likewise gives the union of their bands.
    """
    channels = tr['channels']
    if channels is not None and channels != '<all>':
        text = channels if isinstance(channels, str) else SensorChanSpec.coerce(channels).spec
        plain = _plain_request(text)
        if plain is not None:
            return plain
        return _sensor_request(text, tuple(dict.fromkeys(index.sensor(gid) for gid in tr['frame_gids']
                                                          if gid is not None)))
    gids = [gid for gid in tr['frame_gids'] if gid is not None]
    if len(gids) <= 1:
        return None
    per_frame = [tuple(frames.load_delayed(gid).channels.as_list()) for gid in gids]
    if len(set(per_frame)) == 1:
        return None
    union = dict.fromkeys(name for names in per_frame for name in names)
    return '|'.join(union)


@functools.lru_cache(maxsize=1024)
def _plain_request(text: str) -> str | None:
    """The fused code of a channel spec without sensors; None for a sensor spec."""
    if any(sensor != GENERIC_SENSOR for sensor in SensorChanSpec.coerce(text).sensors()):
        return None
    return '|'.join(name for stream in ChannelSpec.coerce(text).streams() for name in stream.as_list())


@functools.lru_cache(maxsize=1024)
def _sensor_request(text: str, sensors: tuple[str, ...]) -> str:
    """The union of the bands a sensor spec selects for each of ``sensors``, in first-seen order."""
    spec = SensorChanSpec.coerce(text)
    names = dict.fromkeys(name for sensor in sensors for stream in spec.matching_sensor(sensor).streams()
                          for name in stream.as_list())
    if not names:
        raise ChannelSpecError(f'channels={text!r} selects no band for sensor(s) {list(sensors)!r}; '
                               f'allowed: a spec with streams for one of them or for every sensor (no prefix)')
    return '|'.join(names)


def _load_delayed(frames, gid: int, tr: Target, channels: str | None):
    """``frames.load_delayed`` of one frame; any ``nodata`` option masks the sources' declared nodata as NaN."""
    return frames.load_delayed(gid, channels=channels, nodata=None if tr['nodata'] is None else 'float')


def _warpkw(tr: Target) -> dict[str, Any]:
    return {'interpolation': tr['interpolation'], 'antialias': tr['antialias']}


def space_node(frames, index: DatasetIndex, gid: int, tr: Target, params: dict[str, Any], channels: str | None):
    """One frame in the sample's space, uncropped (a delayed tree, not finalized).

    ``frames.load_delayed`` (image space; with a ``nodata`` option, declared nodata
    already NaN), warped into video space for a video sample.
    """
    node = _load_delayed(frames, gid, tr, channels)
    if params['space'] == 'video':
        warp = index.warp_img_to_vid(gid)
        if not is_identity(warp):
            h, w = tr['space_dims']
            node = node.warp(warp, dsize=(w, h), **_warpkw(tr))
    return node


def frame_tree(frames, index: DatasetIndex, gid: int, tr: Target, params: dict[str, Any],
               channels: str | None):
    """The delayed tree of one frame of the sample (not finalized).

    :func:`space_node` -> the padded window: cropped (``clip=False``, so it may leave
    the image) when the sample is not scaled, else one warp into the output pixels, so
    that output pixels at the window's far edge interpolate the data beyond it (a crop
    before the scale would stop the kernel at the window's edge).
    """
    node = space_node(frames, index, gid, tr, params, channels)
    if params['sample_scale'] == (1.0, 1.0):
        return node.crop(params['window'], clip=False, wrap=False)
    out_h, out_w = params['out_hw']
    return node.warp(params['tf_abs_to_rel'], dsize=(out_w, out_h), **_warpkw(tr))


def _valid_span(lo: float, size: int, scale: float, extent: int) -> tuple[int, int]:
    """Output pixels ``[a, b)`` whose centres fall inside ``[0, extent)`` of the source axis.

    Output pixel ``j`` covers source coordinates from ``lo + j / scale`` (its centre at
    ``lo + (j + 0.5) / scale``).
    """
    if scale == 1.0 and type(lo) is int:  # the same integers as the general formula
        a, b = -lo, extent - lo
    else:
        a = math.ceil(-lo * scale - 0.5 - 1e-9)
        b = math.ceil((extent - lo) * scale - 0.5 - 1e-9)
    a = min(max(a, 0), size)
    return a, min(max(b, a), size)


def _fill_value(tr: Target, dtype: np.dtype):
    if 'constant_values' in tr['padkw']:
        return tr['padkw']['constant_values']
    return np.nan if np.issubdtype(dtype, np.floating) and tr['nodata'] is not None else 0


def _pad(arr: np.ndarray, pad: list[tuple[int, int]], tr: Target) -> np.ndarray:
    """``np.pad`` with the target's ``padkw`` (constant fill when there is nothing to extend)."""
    padkw = dict(tr['padkw'])
    mode = padkw.pop('mode')
    if mode == 'constant' or arr.size == 0:
        return pad_constant(arr, pad, _fill_value(tr, arr.dtype))
    return np.pad(arr, pad, mode=mode, **padkw)


def _apply_nodata(arr: np.ndarray, nodata) -> np.ndarray:
    if nodata is None:
        return arr
    out = arr if np.issubdtype(arr.dtype, np.floating) else arr.astype(np.float32)
    if nodata not in ('float', 'auto'):
        out = out.copy() if out is arr else out
        out[arr == nodata] = np.nan
    return out


def _valid_window(tr: Target, params: dict[str, Any]) -> tuple[tuple[int, int], tuple[int, int]]:
    """Output rows ``(ya, yb)`` and columns ``(xa, xb)`` whose centres fall inside the data extent."""
    out_h, out_w = params['out_hw']
    window = params['window']
    sx, sy = params['sample_scale']
    return (_valid_span(window[0].start, out_h, sy, tr['space_dims'][0]),
            _valid_span(window[1].start, out_w, sx, tr['space_dims'][1]))


def has_valid_pixels(tr: Target, params: dict[str, Any]) -> bool:
    """True when some output pixel's centre falls inside the data extent (not all padding)."""
    (ya, yb), (xa, xb) = _valid_window(tr, params)
    return yb > ya and xb > xa


def _part_valid(warp: kwimage.Affine, shape_hw: tuple[int, int], tr: Target,
                params: dict[str, Any]) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """Like :func:`_valid_window` for an image whose pixels ``warp`` maps into the window.

    None when the warp is not a positive scale + shift (rotated parts keep the warp's border).
    """
    coeffs = positive_scale_shift(warp)
    if coeffs is None:
        return None
    sx, sy, tx, ty = coeffs
    window = params['window']
    return (_valid_span(window[0].start + ty, shape_hw[0], 1.0 / sy, tr['space_dims'][0]),
            _valid_span(window[1].start + tx, shape_hw[1], 1.0 / sx, tr['space_dims'][1]))


def _frame_pixels(arr: np.ndarray, tr: Target, out_hw: tuple[int, int], valid, cropped: bool) -> np.ndarray:
    """Nodata, a channel axis and the space padding for one finalized frame of ``out_hw`` pixels.

    ``valid``: the rows and columns holding data (None: keep ``arr``'s own border);
    ``cropped``: ``arr`` holds only the valid part (else the whole output, cut here).
    """
    arr = _apply_nodata(arr, tr['nodata'])
    if arr.ndim == 2:
        arr = arr[..., None]
    if valid is None:
        return arr
    (ya, yb), (xa, xb) = valid
    out_h, out_w = out_hw
    if ya or xa or yb != out_h or xb != out_w:
        arr = _pad(arr if cropped else arr[ya:yb, xa:xb], [(ya, out_h - yb), (xa, out_w - xb), (0, 0)], tr)
    return arr


def finalize_frames(trees: list, tr: Target, params: dict[str, Any], num_channels: int) -> np.ndarray:
    """Finalize per-frame trees (None for padded frames) into ``(T, H, W, C)`` with padding applied.

    Pixels whose centre leaves the data extent are filled per ``padkw`` (constant:
    ``constant_values``, else 0, or NaN for ``nodata='float'``), frames outside the
    video likewise along the time axis.
    """
    return _stack_frames(trees, tr, params['out_hw'], _valid_window(tr, params), num_channels)


def _stack_frames(trees: list, tr: Target, out_hw: tuple[int, int], valid, num_channels: int) -> np.ndarray:
    """:func:`finalize_frames` for frames of ``out_hw`` pixels whose ``valid`` rows / columns hold data."""
    out_h, out_w = out_hw
    finals = [_frame_pixels(tree.finalize(optimize=tr['optimize']), tr, out_hw, valid, cropped=False)
              for tree in trees if tree is not None]
    if len(finals) == 1:
        stacked = finals[0][None]  # no copy
    elif finals:
        stacked = np.stack(finals, axis=0)
    else:
        dtype = np.float32 if tr['nodata'] is not None else np.uint8
        stacked = np.zeros((0, out_h, out_w, num_channels), dtype=dtype)
    valid_t = [i for i, tree in enumerate(trees) if tree is not None]
    t_before = valid_t[0] if valid_t else len(trees)
    t_after = len(trees) - valid_t[-1] - 1 if valid_t else 0
    if t_before or t_after:
        stacked = _pad(stacked, [(t_before, t_after), (0, 0), (0, 0), (0, 0)], tr)
    if tr['dtype'] is not None:
        stacked = stacked.astype(tr['dtype'], copy=False)
    return stacked


def lean_pixels(frames, tr: Target, params: dict[str, Any], channels: str | None) -> np.ndarray | None:
    """The pixels of an unscaled 2-D window read straight from one file, or None when that does not apply.

    Applies when the image is one aligned, unquantized file (``frames.load_delayed``
    gives a ``DelayedLoad``, or a band subset of one) and the sample is not scaled:
    the in-bounds part of the window is read through the reader pool and padded with
    numpy. The result equals :func:`finalize_frames` over :func:`frame_tree`.
    """
    if params['sample_scale'] != (1.0, 1.0):
        return None
    node = _load_delayed(frames, tr['gid'], tr, channels)
    bands = None
    if type(node) is DelayedCrop and type(node.child) is DelayedLoad and node.slices == node.child._full_slices():
        node, bands = node.child, node.chan_idxs
    if type(node) is not DelayedLoad:
        return None
    valid = _valid_window(tr, params)
    (ya, yb), (xa, xb) = valid
    if yb <= ya or xb <= xa:
        return None
    y0, x0 = params['window'][0].start, params['window'][1].start
    arr = node.read((slice(y0 + ya, y0 + yb), slice(x0 + xa, x0 + xb)), bands=bands)
    if not arr.flags.writeable:
        arr = arr.copy()
    arr = _frame_pixels(arr, tr, params['out_hw'], valid, cropped=True)
    return arr if tr['dtype'] is None else arr.astype(tr['dtype'], copy=False)


def native_pixels(spaces: list, tr: Target,
                  params: dict[str, Any]) -> tuple[Any, list[list[kwimage.Affine]], list[dict]]:
    """Per frame, the sample at the bands' own resolutions, the warps of its pixels into the window, and its metadata.

    Each frame (:func:`space_node`, None for a padded frame) is cropped to the padded
    window and split by ``undo_warps(remove=['scale'])`` into one part per band group,
    ``ceil(w * s) x ceil(h * s)`` pixels for a band at ``s`` times the window's resolution
    (ndsampler 0.8's sizes), then by the target's ``scale`` if any (as 0.8: ``ceil`` of the
    scaled size). Channels the frame lacks are one NaN part of 1x1 pixels (scaled likewise,
    as 0.8 squashes them) whose warp stretches it over the window. A part is padded at its
    own resolution where the window leaves the data (per ``padkw``, as the aligned sample
    is) and its warp maps it into the padded window. With ``realign_native`` every frame is instead resampled, in one warp from its
    bands, to the grid of the largest part of the sample: one ``(H, W, C)`` array per frame
    whose warp (the same for every frame) maps it into the window.

    Returns
    -------
    (frames, warps, jagged_meta)
        ``frames``: per frame a list of parts (delayed without ``finalize``); with
        ``realign_native`` a ``(T, H, W, C)`` array (without ``finalize``: per frame a
        delayed node, None for padded frames). ``warps``: per frame a list of
        ``kwimage.Affine``, one per part (one with ``realign_native``). ``jagged_meta``:
        per frame ndsampler 0.8's record of its parts: ``chans`` (each part's
        FusedChannelSpec), ``align`` (window to part pixels) and ``grid_to_part_warps``
        (sample space, i.e. image or video pixels, to part pixels).
    """
    window = params['window']
    to_window = kwimage.Affine.translate((-window[1].start, -window[0].start))
    extra = tr['scale'] if tr['scale'] is not None else params['sample_scale']
    split = []
    for space in spaces:
        if space is None:
            split.append(([], []))
            continue
        cropped = space.crop(window, clip=False, wrap=False)
        parts, warps = cropped.undo_warps(remove=['scale'], squash_nans=True, return_warps=True)
        warps = [kwimage.Affine.coerce(w) for w in warps]
        if extra != (1.0, 1.0):
            parts, warps = _scaled_parts(space, parts, warps, extra, to_window, tr)
        split.append((parts, warps))
    if tr['realign_native']:
        frames, warps, chans = _realign(spaces, split, tr, params)
    else:
        if tr['finalize']:
            frames = [[_part_pixels(part, warp, tr, params) for part, warp in zip(parts, warps)]
                      for parts, warps in split]
        else:
            frames = [parts for parts, _ in split]
        warps = [warps for _, warps in split]
        chans = [[part.channels for part in parts] for parts, _ in split]
    meta = [{'chans': frame_chans, 'align': [warp.inv() for warp in frame_warps],
             'grid_to_part_warps': [warp.inv() @ to_window for warp in frame_warps]}
            for frame_chans, frame_warps in zip(chans, warps)]
    return frames, warps, meta


def _scaled_parts(space, parts: list, warps: list[kwimage.Affine], extra: tuple[float, float],
                  to_window: kwimage.Affine, tr: Target) -> tuple[list, list[kwimage.Affine]]:
    """Native parts resampled by ``extra`` (``ceil(w * sx) x ceil(h * sy)`` pixels) and their warps into the window.

    Each is one warp from its bands of the frame's uncropped ``space`` node, so that its
    last pixels interpolate the data past the window (a warp of the part would stop at its edge).
    """
    scale = kwimage.Affine.scale(extra)
    out_parts, out_warps, first = [], [], 0
    for part, warp in zip(parts, warps):
        bands = list(range(first, first + part.num_channels))
        first += part.num_channels
        dsize = (math.ceil(part.dsize[0] * extra[0]), math.ceil(part.dsize[1] * extra[1]))
        if type(part) is DelayedNans:
            out_parts.append(DelayedNans(dsize, part.channels))
        else:
            to_part = scale @ warp.inv() @ to_window
            out_parts.append(space.take_channels(bands).warp(to_part, dsize=dsize, **_warpkw(tr)))
        out_warps.append(warp @ scale.inv())
    return out_parts, out_warps


def _part_pixels(part, warp: kwimage.Affine, tr: Target, params: dict[str, Any]) -> np.ndarray:
    """One finalized native part with nodata, padding and dtype applied (a NaN part stays NaN)."""
    w, h = part.dsize
    valid = None if type(part) is DelayedNans else _part_valid(warp, (h, w), tr, params)
    arr = _frame_pixels(part.finalize(optimize=tr['optimize']), tr, (h, w), valid, cropped=False)
    return arr if tr['dtype'] is None else arr.astype(tr['dtype'], copy=False)


def _realign(spaces: list, split: list, tr: Target, params: dict[str, Any]):
    """Every frame resampled to the grid of the sample's largest native part (see :func:`native_pixels`).

    Returns ``(frames, warps, chans)``, ``chans`` per frame the one realigned part's channels.
    Each frame is warped from its uncropped space node, so that the grid's last pixels
    interpolate data past the window's edge, as its native parts do.
    """
    candidates = [(part.dsize[0] * part.dsize[1], part.dsize, warp)
                  for parts, warps in split for part, warp in zip(parts, warps)]
    if candidates:
        _, dsize, warp = max(candidates, key=lambda item: item[0])
    else:  # every frame is padding: the window grid
        dsize, warp = params['out_hw'][::-1], kwimage.Affine.eye()
    window = params['window']
    to_grid = warp.inv() @ kwimage.Affine.translate((-window[1].start, -window[0].start))
    aligned = [None if space is None else space.warp(to_grid, dsize=dsize, **_warpkw(tr)) for space in spaces]
    warps = [[warp] for _ in spaces]
    known = next((node for node in aligned if node is not None), None)
    chans = [[known.channels] if known is not None else [] for _ in spaces]
    if not tr['finalize']:
        return aligned, warps, chans
    out_hw = (dsize[1], dsize[0])
    num_channels = known.num_channels if known is not None else 0
    return _stack_frames(aligned, tr, out_hw, _part_valid(warp, out_hw, tr, params), num_channels), warps, chans
