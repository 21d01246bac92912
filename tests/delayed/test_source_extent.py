"""The optimizer's scalar source extent of axis-aligned chains against the general matrix path."""
from unittest import mock

import kwimage
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ndsampler.delayed import DelayedIdentity
from ndsampler.delayed import _optimize
from ndsampler.geometry import box_to_slices, warp_box
from tests.delayed.conftest import smooth_image

DATA = smooth_image(30, 40, 2, np.float32)

scales = st.floats(0.25, 4.0)
shifts = st.floats(-25.0, 25.0)
steps = st.tuples(scales, scales, shifts, shifts)


def _general_extent(matrix, w, h):
    """The matrix path: map the output rectangle back through the inverse."""
    return tuple(warp_box([0, 0, w, h], np.linalg.inv(matrix)).data[0].tolist())


def _chain(steps_, dsize, interpolation):
    node = DelayedIdentity(DATA)
    for sx, sy, tx, ty in steps_:
        node = node.warp(kwimage.Affine.affine(scale=(sx, sy), offset=(tx, ty)), dsize=dsize,
                         interpolation=interpolation)
    return node


@given(st.lists(steps, min_size=1, max_size=3), st.integers(1, 60), st.integers(1, 60),
       st.sampled_from([1.0, -1.0]), st.sampled_from([1.0, -1.0]))
def test_scalar_extent_equals_matrix_extent(chain, w, h, flip_x, flip_y):
    matrix = np.eye(3)
    for sx, sy, tx, ty in chain:
        matrix = kwimage.Affine.affine(scale=(sx * flip_x, sy * flip_y), offset=(tx, ty)).matrix @ matrix
    scalar = _optimize._source_extent(matrix, w, h)
    general = _general_extent(matrix, w, h)
    np.testing.assert_allclose(scalar, general, rtol=1e-12, atol=1e-9)
    assert scalar[0] <= scalar[2] and scalar[1] <= scalar[3]
    # the same source window once grown and snapped to whole pixels (as the optimizer reads it)
    grown = [scalar[0] - 1.5, scalar[1] - 1.5, scalar[2] + 1.5, scalar[3] + 1.5]
    grown_general = [general[0] - 1.5, general[1] - 1.5, general[2] + 1.5, general[3] + 1.5]
    assert box_to_slices(grown) == box_to_slices(grown_general)


@settings(max_examples=30)
@given(st.lists(steps, min_size=1, max_size=3), st.integers(1, 50), st.integers(1, 50),
       st.sampled_from(['nearest', 'linear', 'cubic']))
def test_scalar_path_reads_the_same_pixels(chain, w, h, interpolation):
    node = _chain(chain, (w, h), interpolation)
    fast = node.optimize()
    with mock.patch.object(_optimize, '_source_extent', _general_extent):
        slow = node.optimize()
    assert fast.write_network_text(file=_Sink()) == slow.write_network_text(file=_Sink())
    np.testing.assert_array_equal(fast.finalize(optimize=False), slow.finalize(optimize=False))


class _Sink:
    """A file that drops what is written (``write_network_text`` also prints)."""

    def write(self, text):
        return len(text)

    def flush(self):
        pass
