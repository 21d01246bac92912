"""Tests for affine helpers (corner convention)."""
import kwimage
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ndsampler.errors import TransformError
from ndsampler.geometry import (affine_of, decompose_scale, is_identity, is_integer_translation, positive_scale_shift,
                                warp_box)


def test_affine_of_forms():
    assert np.allclose(affine_of(2).matrix, np.diag([2, 2, 1]))
    assert np.allclose(affine_of((2, 3)).matrix, np.diag([2, 3, 1]))
    assert np.allclose(affine_of(np.eye(3)).matrix, np.eye(3))
    assert np.allclose(affine_of({'offset': (1, 2)}).matrix[:2, 2], [1, 2])
    aff = kwimage.Affine.scale(4)
    assert affine_of(aff) is aff


@pytest.mark.parametrize('bad', ['nope', np.ones((2, 2)), [[1, 0, 0], [0, 1, 0], [1, 0, 1]], np.full((3, 3), np.nan)])
def test_affine_of_rejects(bad):
    with pytest.raises(TransformError):
        affine_of(bad)


def test_predicates():
    assert is_identity(np.eye(3))
    assert not is_identity(kwimage.Affine.translate((1, 0)))
    assert is_integer_translation(kwimage.Affine.translate((3, -2)))
    assert not is_integer_translation(kwimage.Affine.translate((0.5, 0)))
    assert not is_integer_translation(kwimage.Affine.scale(2))
    assert positive_scale_shift(kwimage.Affine.affine(scale=(2, 0.5), offset=(3, -4))) == (2.0, 0.5, 3.0, -4.0)
    assert positive_scale_shift(kwimage.Affine.eye()) == (1.0, 1.0, 0.0, 0.0)
    for other in [kwimage.Affine.scale((-1, 1)), kwimage.Affine.scale((1, 0)), kwimage.Affine.rotate(0.1),
                  kwimage.Affine.affine(shearx=0.2)]:
        assert positive_scale_shift(other) is None


@given(st.floats(0.1, 10), st.floats(0.1, 10), st.floats(-3.1, 3.1), st.floats(-100, 100))
def test_decompose_scale(sx, sy, theta, tx):
    aff = kwimage.Affine.affine(scale=(sx, sy), theta=theta, offset=(tx, 0))
    got = decompose_scale(aff)
    assert np.allclose(got, (sx, sy), rtol=1e-6)


def test_warp_box_corner_convention():
    # scaling by 2 maps the extent [0, w) onto [0, 2w)
    assert warp_box([0, 0, 10, 5], 2).to_ltrb().data.tolist() == [[0, 0, 20, 10]]
    # a 90 degree rotation about the origin gives the bounding box of the rotated corners
    rot = kwimage.Affine.rotate(np.pi / 2)
    got = warp_box(kwimage.Boxes([[0, 0, 4, 2]], 'ltrb'), rot).data
    assert np.allclose(got, [[-2, 0, 0, 4]])


@pytest.mark.parametrize('lazy', [kwimage.Affine(None), kwimage.Affine.coerce(None), None, kwimage.Affine(None).inv()])
def test_lazy_identity(lazy):
    """kwimage's lazy identity (matrix None) is a real identity for every helper."""
    assert np.array_equal(affine_of(lazy).matrix, np.eye(3))
    assert is_identity(lazy)
    assert is_integer_translation(lazy)
    assert decompose_scale(lazy) == (1.0, 1.0)
    assert warp_box([1, 2, 10, 5], lazy).to_ltrb().data.tolist() == [[1, 2, 10, 5]]
