"""Pure window / slice / padding / affine arithmetic; no I/O.

Conventions (SPEC §2): integer pixel ``(x, y)`` covers ``[x, x+1) x [y, y+1)``,
``slice(a, b)`` covers pixels ``a .. b-1``, and affines map corner coordinates.
"""
from ndsampler.geometry._affine import (
    affine_of,
    decompose_scale,
    is_identity,
    is_integer_translation,
    positive_scale_shift,
    warp_box,
)
from ndsampler.geometry._windows import (
    box_to_slices,
    clip_slices,
    compose_slices,
    normalize_slices,
    pad_slices,
    slices_shape,
    slices_to_box,
    window_from_center,
)

__all__ = [
    'window_from_center',
    'normalize_slices',
    'clip_slices',
    'compose_slices',
    'pad_slices',
    'slices_shape',
    'slices_to_box',
    'box_to_slices',
    'affine_of',
    'is_identity',
    'is_integer_translation',
    'positive_scale_shift',
    'decompose_scale',
    'warp_box',
]
