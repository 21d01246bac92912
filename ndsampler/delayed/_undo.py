"""Native-resolution sampling: undo part of each band's warp into an aligned window (SPEC §4)."""
from __future__ import annotations

import math
from typing import Sequence

import kwimage

from ndsampler.delayed._nodes import DelayedChannelConcat, DelayedCrop, DelayedImage, DelayedNans, DelayedWarp
from ndsampler.errors import InvalidOptionError
from ndsampler.geometry import warp_box

__all__ = ['undo_warps']

_PARAMS = ('offset', 'scale', 'shearx', 'theta')
_IDENTITY = {'offset': (0.0, 0.0), 'scale': (1.0, 1.0), 'shearx': 0.0, 'theta': 0.0}


def undo_warps(node: DelayedImage, remove: Sequence[str] | None = ('scale',), retain: Sequence[str] | None = None,
               squash_nans: bool = False, return_warps: bool = False):
    """See :meth:`DelayedImage.undo_warps`."""
    if retain is not None:
        bad = set(retain) - set(_PARAMS)
        remove_set = set(_PARAMS) - set(retain)
    else:
        remove_set = set(remove or ())
        bad = remove_set - set(_PARAMS)
    if bad:
        raise InvalidOptionError('remove/retain', sorted(bad), _PARAMS)
    optimized = node.optimize()
    w, h = optimized.dsize
    # a window past the border optimizes to a padding crop over the parts: fold its shift into each part
    shift = _padding_shift(optimized)
    if shift is not None:
        optimized = optimized.child
    parts = optimized.parts if type(optimized) is DelayedChannelConcat else [optimized]
    out_parts, warps = [], []
    for part in parts:
        if type(part) is DelayedNans:
            if squash_nans:
                out_parts.append(DelayedNans((1, 1), part.channels))
                warps.append(kwimage.Affine.scale((w, h)))
            else:
                out_parts.append(part if shift is None else DelayedNans((w, h), part.channels))
                warps.append(kwimage.Affine.eye())
            continue
        if type(part) is DelayedWarp:
            source, full, params = part.child, part.transform, part.params
        elif shift is None:
            out_parts.append(part)
            warps.append(kwimage.Affine.eye())
            continue
        else:
            source, full, params = part, kwimage.Affine.eye(), {}
        if shift is not None:
            full = shift @ full
        decomposed = full.decompose()
        kept = {k: (_IDENTITY[k] if k in remove_set else decomposed[k]) for k in _PARAMS}
        residual = kwimage.Affine.affine(**kept)
        undone = full @ residual.inv()
        box = warp_box([0, 0, w, h], undone.inv()).data[0]
        x0 = math.floor(box[0] + 1e-6)
        y0 = math.floor(box[1] + 1e-6)
        x1 = max(math.ceil(box[2] - 1e-6), x0 + 1)
        y1 = max(math.ceil(box[3] - 1e-6), y0 + 1)
        to_part = kwimage.Affine.translate((-x0, -y0))
        # native pixels outside the source are padded by the warp (0, NaN for float) at the part's resolution
        native = source.warp(to_part @ residual, dsize=(x1 - x0, y1 - y0), **params).optimize()
        out_parts.append(native)
        warps.append(undone @ to_part.inv())
    if return_warps:
        return out_parts, warps
    return out_parts


def _padding_shift(node: DelayedImage) -> kwimage.Affine | None:
    """The shift of a crop that pads its child (all bands), or None for any other node."""
    if type(node) is not DelayedCrop or node.chan_idxs is not None:
        return None
    sl_y, sl_x = node.slices
    w, h = node.child.dsize
    if 0 <= sl_y.start and sl_y.stop <= h and 0 <= sl_x.start and sl_x.stop <= w:
        return None
    return kwimage.Affine.translate((-sl_x.start, -sl_y.start))
