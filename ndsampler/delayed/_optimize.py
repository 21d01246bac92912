"""The optimizer: rewrites a tree into an equivalent, cheaper one (SPEC §4).

Every maximal chain of crops and warps is folded into one affine from its
base node's pixels to the output pixels. Then:

* a chain of crops (and integer-translation warps with the default border)
  becomes one crop, pushed through dequantize / concat into the load as a
  windowed read (padding the part outside the image);
* otherwise the output window is mapped back into the base, grown by the
  interpolation kernel's support (plus the antialiasing blur), clipped to the
  base and to every intermediate crop, and read as a window; one warp does the rest;
* a downscale over a load with overviews reads the coarsest level that keeps
  the resolution of the chain's narrowest point and warps the rest (not for
  'nearest', which must pick original pixels, never averaged ones);
* dequantize nodes keep their place relative to warps (so borders and
  rounding stay the same) and sink below crops.
"""
from __future__ import annotations

import math

import kwimage
import numpy as np

from ndsampler.delayed._channels import band_runs
from ndsampler.delayed._kernels import axis_scales, kernel_support
from ndsampler.delayed._nodes import (DelayedChannelConcat, DelayedCrop, DelayedDequantize, DelayedImage, DelayedLoad,
                                      DelayedNans, DelayedOverview, DelayedWarp)
from ndsampler.geometry import box_to_slices, clip_slices, is_identity, is_integer_translation, slices_shape, warp_box

__all__ = ['optimize']

_EPS = 1e-6


def optimize(node: DelayedImage) -> DelayedImage:
    """An equivalent, cheaper tree."""
    kind = type(node)
    if kind is DelayedCrop:
        child = node.child
        if type(child) is DelayedLoad:
            # Fast path: a window (maybe a band subset) of a file; nothing to rewrite.
            sl_y, sl_x = node.slices
            w, h = child.dsize
            if 0 <= sl_y.start and sl_y.stop <= h and 0 <= sl_x.start and sl_x.stop <= w:
                return node
        return _optimize_chain(node)
    if kind is DelayedWarp:
        return _optimize_chain(node)
    if kind is DelayedDequantize:
        return DelayedDequantize(optimize(node.child), node.quantization)
    if kind is DelayedOverview:
        return _optimize_overview(node)
    if kind is DelayedChannelConcat:
        parts = []
        for part in node.parts:
            part = optimize(part)
            parts.extend(part.parts if type(part) is DelayedChannelConcat else [part])
        return DelayedChannelConcat(parts, node.dsize)
    return node


def _optimize_overview(node: DelayedOverview) -> DelayedImage:
    child = optimize(node.child)
    level = node.overview
    if type(child) is DelayedOverview:
        level += child.overview
        child = child.child
    return child if level == 0 else DelayedOverview(child, level)


def _compose_bands(outer, inner):
    if inner is None:
        return outer
    if outer is None:
        return list(inner)
    return [outer[i] for i in inner]


class _Chain:
    """A chain of crops and warps folded into one affine from base pixels to output pixels."""

    def __init__(self, top: DelayedImage):
        ops = []
        node = top
        while type(node) in (DelayedCrop, DelayedWarp):
            ops.append(node)
            node = node.child
        self.base = node
        self.dsize = top.dsize
        self.matrix = np.eye(3)
        self.bands = None
        self.params = None
        self.pure = True            # only crops and integer shifts with the default border
        self.bottleneck = 1.0       # smallest resolution (relative to the base) the chain passes through
        self.limits = []            # (matrix base->space, dsize) of every intermediate extent
        for op in reversed(ops):
            if type(op) is DelayedCrop:
                sl_y, sl_x = op.slices
                shift = np.array([[1, 0, -sl_x.start], [0, 1, -sl_y.start], [0, 0, 1]], dtype=float)
                self.matrix = shift @ self.matrix
                self.bands = _compose_bands(self.bands, op.chan_idxs)
            else:
                op_matrix = np.asarray(op.transform.matrix, dtype=float)
                self.matrix = op_matrix @ self.matrix
                self.params = op.params
                if not (op.border_value == 'auto' and is_integer_translation(op_matrix)):
                    self.pure = False
                self.bottleneck = min(self.bottleneck, max(axis_scales(self.matrix)))
            self.limits.append((self.matrix.copy(), op.dsize))

    def over(self, part: DelayedImage, part_bands) -> '_Chain':
        """This chain continued below into ``part`` of its concat base (bands ``part_bands`` of it).

        A part that is itself a chain of crops and warps is folded in, so the concat's
        warped parts are resampled once; its extent (the concat's) stays a limit.
        """
        inner = _Chain(part)
        sub = _Chain.__new__(_Chain)
        sub.__dict__.update(self.__dict__)
        sub.base = inner.base
        sub.bands = _compose_bands(inner.bands, part_bands)
        outer = [(matrix @ inner.matrix, dsize) for matrix, dsize in self.limits]
        sub.matrix = outer[-1][0]
        sub.limits = inner.limits + outer
        sub.bottleneck = min([inner.bottleneck] + [max(axis_scales(matrix)) for matrix, _ in outer])
        return sub


def _optimize_chain(top: DelayedImage) -> DelayedImage:
    chain = _Chain(top)
    w, h = chain.dsize
    if w == 0 or h == 0:
        return _crop_into(chain.base, (slice(0, h), slice(0, w)), chain.bands)
    if chain.pure:
        tx, ty = int(round(chain.matrix[0, 2])), int(round(chain.matrix[1, 2]))
        return _crop_into(chain.base, (slice(-ty, -ty + h), slice(-tx, -tx + w)), chain.bands)
    return _warp_into(chain)


def _crop_into(base: DelayedImage, slices, bands) -> DelayedImage:
    """Push a crop (maybe out of bounds) of ``base`` down to the leaves."""
    w, h = base.dsize
    clipped, pad = clip_slices(slices, (h, w))
    if any(a or b for a, b in pad):
        (pb_y, _), (pb_x, _) = pad
        out_h, out_w = slices_shape(slices)
        inner = _crop_into(base, clipped, bands)
        return DelayedCrop(inner, (slice(-pb_y, -pb_y + out_h), slice(-pb_x, -pb_x + out_w)))
    full = clipped == (slice(0, h), slice(0, w))
    kind = type(base)
    if kind is DelayedDequantize:
        return DelayedDequantize(_crop_into(base.child, clipped, bands), base.quantization)
    if kind is DelayedChannelConcat:
        return _split_concat(base, bands, lambda part, part_bands: _crop_into(part, clipped, part_bands))
    if kind is DelayedNans:
        chans = base.channels if bands is None else base.channels[bands]
        return DelayedNans((clipped[1].stop - clipped[1].start, clipped[0].stop - clipped[0].start), chans)
    if kind in (DelayedCrop, DelayedWarp):
        base = optimize(base)
        if type(base) in (DelayedCrop, DelayedWarp):
            return _optimize_chain(DelayedCrop(base, clipped, bands))
        return _crop_into(base, clipped, bands)
    if kind is DelayedOverview:
        base = _optimize_overview(base)
    if full and bands is None:
        return base
    return DelayedCrop(base, clipped, bands)


def _split_concat(concat: DelayedChannelConcat, bands, fn) -> DelayedImage:
    """Apply ``fn(part, part_bands)`` to the parts that hold ``bands`` (in order) and concat the results."""
    if bands is None:
        runs = [(i, None) for i in range(len(concat.parts))]
    else:
        runs = band_runs([p.num_channels for p in concat.parts], bands)
    parts = []
    for key, part_bands in runs:
        part = concat.parts[key]
        if part_bands == list(range(part.num_channels)):
            part_bands = None
        parts.append(fn(part, part_bands))
    flat = [q for p in parts for q in (p.parts if type(p) is DelayedChannelConcat else [p])]
    return flat[0] if len(flat) == 1 else DelayedChannelConcat(flat)


def _warp_into(chain: _Chain) -> DelayedImage:
    base = chain.base
    if type(base) is DelayedChannelConcat:
        return _split_concat(base, chain.bands, lambda part, part_bands: _warp_into(chain.over(part, part_bands)))
    if type(base) is DelayedNans:
        chans = base.channels if chain.bands is None else base.channels[chain.bands]
        return DelayedNans(chain.dsize, chans)
    if type(base) in (DelayedOverview, DelayedDequantize):
        base = optimize(base)

    quantizations = []
    inner = base
    while type(inner) is DelayedDequantize:
        quantizations.append(inner.quantization)
        inner = inner.child
    matrix = chain.matrix
    limits = chain.limits
    params = chain.params
    # overviews hold averaged pixels: 'nearest' must sample the full-resolution ones
    if params['interpolation'] != 'nearest':
        inner, to_inner = _pick_overview(inner, chain.bottleneck)
        if to_inner is not None:
            matrix = matrix @ to_inner
            limits = [(m @ to_inner, d) for m, d in limits]

    sx, sy = axis_scales(matrix)
    support_x, support_y = kernel_support(params['interpolation'], params['antialias'], sx, sy)
    w, h = chain.dsize
    bx0, by0, bx1, by1 = _source_extent(matrix, w, h)
    in_w, in_h = inner.dsize
    lo_x, lo_y, hi_x, hi_y = 0.0, 0.0, float(in_w), float(in_h)
    for limit_matrix, (lw, lh) in limits[:-1]:
        lx0, ly0, lx1, ly1 = _source_extent(limit_matrix, lw, lh)
        lo_x, lo_y, hi_x, hi_y = max(lo_x, lx0), max(lo_y, ly0), min(hi_x, lx1), min(hi_y, ly1)
    valid = (lo_x, lo_y, hi_x, hi_y)
    lo_x, lo_y = max(lo_x, bx0 - support_x), max(lo_y, by0 - support_y)
    hi_x, hi_y = max(min(hi_x, bx1 + support_x), lo_x), max(min(hi_y, by1 + support_y), lo_y)
    sl_y, sl_x = box_to_slices([lo_x, lo_y, hi_x, hi_y])
    window, _ = clip_slices((sl_y, sl_x), (in_h, in_w))
    ox, oy = float(window[1].start), float(window[0].start)
    valid_box = (valid[0] - ox, valid[1] - oy, valid[2] - ox, valid[3] - oy)
    src = _crop_into(inner, window, chain.bands)
    for quantization in reversed(quantizations):
        src = DelayedDequantize(src, quantization)
    shift = np.array([[1, 0, window[1].start], [0, 1, window[0].start], [0, 0, 1]], dtype=float)
    final = matrix @ shift
    if tuple(src.dsize) == tuple(chain.dsize) and is_identity(final, atol=_EPS):
        return src
    return DelayedWarp(src, kwimage.Affine(final), dsize=chain.dsize, valid_box=valid_box, **params)


def _source_extent(matrix: np.ndarray, w: float, h: float) -> tuple[float, float, float, float]:
    """``ltrb`` extent, in source pixels, of the output rectangle ``[0, w] x [0, h]`` mapped back by ``matrix``.

    Axis-aligned matrices (the common scale + shift) are inverted with scalar arithmetic.
    """
    (a, b, c), (d, e, f) = matrix[:2].tolist()
    if b == 0 and d == 0 and a != 0 and e != 0:
        xa, xb = -c / a, (w - c) / a
        ya, yb = -f / e, (h - f) / e
        return min(xa, xb), min(ya, yb), max(xa, xb), max(ya, yb)
    x0, y0, x1, y1 = warp_box([0, 0, w, h], np.linalg.inv(matrix)).data[0].tolist()
    return x0, y0, x1, y1


def _pick_overview(node: DelayedImage, bottleneck: float):
    """Replace a load (or overview of a load) by the coarsest overview keeping ``bottleneck`` resolution."""
    level = 0
    load = node
    if type(node) is DelayedOverview and node.reads_file:
        level, load = node.overview, node.child
    if type(load) is not DelayedLoad or bottleneck >= 1:
        return node, None
    extra = int(math.floor(math.log2(1.0 / bottleneck) + _EPS))
    target = min(load.num_overviews, level + extra)
    if target <= level:
        return node, None
    new = DelayedOverview(load, target)
    to_load = np.asarray(new.to_base().matrix, dtype=float)
    if level:
        to_load = np.linalg.inv(np.asarray(node.to_base().matrix, dtype=float)) @ to_load
    return new, to_load
