"""Affine helpers over ``kwimage.Affine`` (corner-coordinate convention, SPEC §2)."""
from __future__ import annotations

import kwimage
import numpy as np

from ndsampler._typing import AffineLike
from ndsampler.errors import TransformError

__all__ = [
    'affine_of',
    'is_identity',
    'is_integer_translation',
    'positive_scale_shift',
    'decompose_scale',
    'warp_box',
]

#: Absolute tolerance used to recognise identity / integer matrices.
ATOL = 1e-9


def affine_of(transform: AffineLike) -> kwimage.Affine:
    """Coerce a matrix, a scale factor, a dict of params, or an Affine to ``kwimage.Affine``.

    kwimage's lazy identity (``kwimage.Affine(None)``, whose ``matrix`` is None,
    and what ``kwimage.Affine.coerce(None)`` gives) and None itself come back as a
    real identity matrix, so callers can always use ``.matrix``.

    Raises
    ------
    TransformError
        When ``transform`` is not an affine (wrong shape, non-finite entries,
        projective last row).

    Example
    -------
    >>> affine_of(2).matrix.tolist()
    [[2.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 1.0]]
    >>> affine_of(kwimage.Affine(None)).matrix.tolist()
    [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    """
    if isinstance(transform, kwimage.Affine):
        aff = transform
    elif type(transform) is np.ndarray and transform.shape == (3, 3):
        aff = kwimage.Affine(transform)  # what coerce makes of a 3x3 array, without its dispatch
    else:
        try:
            if isinstance(transform, (int, float, np.integer, np.floating)):
                aff = kwimage.Affine.scale(float(transform))
            elif isinstance(transform, (tuple, list)) and len(transform) == 2 and np.isscalar(transform[0]):
                aff = kwimage.Affine.scale((float(transform[0]), float(transform[1])))
            else:
                aff = kwimage.Affine.coerce(transform)
        except Exception as ex:
            raise TransformError(
                f'cannot use transform={transform!r} as an affine; allowed: a 3x3 or 2x3 matrix, '
                f'a scale factor, an (sx, sy) pair, a dict of affine params, or a kwimage.Affine') from ex
    if aff.matrix is None:  # kwimage's lazy identity
        return kwimage.Affine.eye()
    matrix = np.asarray(aff.matrix, dtype=float)
    # np.allclose(matrix[2], [0, 0, 1]) written out (rtol 1e-5, atol 1e-8): this runs on every warp
    if matrix.shape != (3, 3) or not np.isfinite(matrix).all() or not (
            abs(matrix[2, 0]) <= 1e-8 and abs(matrix[2, 1]) <= 1e-8 and abs(matrix[2, 2] - 1) <= 1e-8 + 1e-5):
        raise TransformError(f'transform={matrix.tolist()!r} is not a finite affine 3x3 matrix with last row [0, 0, 1]')
    return aff


def _rows(transform: AffineLike) -> list[list[float]]:
    """The validated matrix as nested Python floats (cheaper than numpy for 3x3 checks)."""
    return np.asarray(affine_of(transform).matrix, dtype=float).tolist()


def is_identity(transform: AffineLike, atol: float = ATOL) -> bool:
    """True when the transform is the identity (within ``atol``)."""
    (a, b, c), (d, e, f), (g, h, i) = _rows(transform)
    return abs(a - 1) <= atol and abs(e - 1) <= atol and abs(i - 1) <= atol and abs(b) <= atol \
        and abs(c) <= atol and abs(d) <= atol and abs(f) <= atol and abs(g) <= atol and abs(h) <= atol


def is_integer_translation(transform: AffineLike, atol: float = ATOL) -> bool:
    """True when the transform only shifts by whole pixels (identity included)."""
    (a, b, c), (d, e, f), _ = _rows(transform)
    return abs(a - 1) <= atol and abs(e - 1) <= atol and abs(b) <= atol and abs(d) <= atol \
        and abs(c - round(c)) <= atol and abs(f - round(f)) <= atol


def positive_scale_shift(transform: kwimage.Affine) -> tuple[float, float, float, float] | None:
    """``(sx, sy, tx, ty)`` when ``transform`` only scales by positive factors and shifts, else None.

    No rotation, shear or flip: such a transform maps boxes and pixel spans by
    their numbers. ``transform.matrix`` is read as is (no validation; per sample).

    Example
    -------
    >>> positive_scale_shift(kwimage.Affine.affine(scale=(2, 3), offset=(5, -1)))
    (2.0, 3.0, 5.0, -1.0)
    >>> positive_scale_shift(kwimage.Affine.scale((-1, 1))) is None
    True
    """
    (a, b, c), (d, e, f), _ = transform.matrix.tolist()
    return (a, e, c, f) if b == 0 and d == 0 and a > 0 and e > 0 else None


def decompose_scale(transform: AffineLike) -> tuple[float, float]:
    """The ``(sx, sy)`` scale part of an affine (lengths of its column vectors).

    Example
    -------
    >>> decompose_scale(kwimage.Affine.affine(scale=(2, 3), theta=0.3))
    (2.0, 3.0)
    """
    matrix = np.asarray(affine_of(transform).matrix, dtype=float)
    sx = float(np.hypot(matrix[0, 0], matrix[1, 0]))
    det = float(matrix[0, 0] * matrix[1, 1] - matrix[0, 1] * matrix[1, 0])
    sy = abs(det) / sx if sx else float(np.hypot(matrix[0, 1], matrix[1, 1]))
    return round(sx, 12), round(sy, 12)


def warp_box(box, transform: AffineLike) -> kwimage.Boxes:
    """Bounding ``ltrb`` box(es) of ``box`` mapped by ``transform`` (corner convention).

    The four corners of each box are mapped and their extent is taken, so
    scaling by 2 maps ``[0, w)`` onto ``[0, 2w)``.

    Example
    -------
    >>> warp_box([0, 0, 10, 5], 2).to_ltrb().data.tolist()
    [[0.0, 0.0, 20.0, 10.0]]
    """
    if isinstance(box, kwimage.Boxes):
        ltrb = np.asarray(box.to_ltrb().data, dtype=float).reshape(-1, 4)
    else:
        ltrb = np.asarray(box, dtype=float).reshape(-1, 4)
    matrix = np.asarray(affine_of(transform).matrix, dtype=float)
    xs = ltrb[:, [0, 2, 2, 0]]
    ys = ltrb[:, [1, 1, 3, 3]]
    wx = matrix[0, 0] * xs + matrix[0, 1] * ys + matrix[0, 2]
    wy = matrix[1, 0] * xs + matrix[1, 1] * ys + matrix[1, 2]
    out = np.stack([wx.min(axis=1), wy.min(axis=1), wx.max(axis=1), wy.max(axis=1)], axis=1)
    return kwimage.Boxes(out, 'ltrb')
