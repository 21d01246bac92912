"""Per-image box arrays (the band query equals a brute-force visibility test) and the class-mask rule."""
import kwimage
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from ndsampler.errors import InvalidOptionError
from ndsampler.regions import visible_fraction
from ndsampler.sampler import _annots
from ndsampler.sampler._annots import ImageBoxes


def _table(ltrb):
    n = len(ltrb)
    return {'aid': np.arange(1, n + 1, dtype=np.int64), 'category_id': np.ones(n, dtype=np.int64),
            'label': np.zeros(n, dtype=np.int64), 'ltrb': np.asarray(ltrb, dtype=float).reshape(-1, 4)}


def _brute(ltrb, window, thresh):
    ltrb = np.asarray(ltrb, dtype=float).reshape(-1, 4)
    if not len(ltrb):
        return []
    x0, y0, x1, y1 = ltrb.T
    wx0, wy0, wx1, wy1 = window
    if thresh == 0 and ((x1 > x0) & (y1 > y0)).all() and wx1 > wx0 and wy1 > wy0:
        hit = (x0 < wx1) & (x1 > wx0) & (y0 < wy1) & (y1 > wy0)
    else:
        touch = (x0 <= wx1) & (x1 >= wx0) & (y0 <= wy1) & (y1 >= wy0)
        hit = touch & (visible_fraction(ltrb, window) > thresh)
    return np.flatnonzero(hit).tolist()


coord = st.integers(-20, 120).map(float)
box = st.tuples(coord, coord, st.integers(0, 60).map(float), st.integers(0, 60).map(float)).map(
    lambda b: [b[0], b[1], b[0] + b[2], b[1] + b[3]])


@settings(max_examples=150)
@given(boxes=st.lists(box, max_size=40), window=st.tuples(coord, coord, st.integers(0, 50), st.integers(0, 50)),
       thresh=st.sampled_from([0.0, 0.25, 0.9]), with_nan=st.booleans())
def test_band_query_equals_brute_force(boxes, window, thresh, with_nan):
    if with_nan:
        boxes = boxes + [[np.nan] * 4]
    x, y, w, h = window
    ltrb_window = np.array([x, y, x + w, y + h], dtype=float)
    image = ImageBoxes(_table(boxes), np.arange(len(boxes)))
    want = _brute(boxes, ltrb_window, thresh)
    default = _annots.SCALAR_BAND
    try:
        for band in (0, default):  # numpy for every band, then Python for narrow ones
            _annots.SCALAR_BAND = band
            assert image.visible(ltrb_window, thresh).tolist() == want
            assert image.visible((x, y, x + w, y + h), thresh).tolist() == want  # plain numbers
    finally:
        _annots.SCALAR_BAND = default
    assert image.visible(ltrb_window, thresh).dtype == np.int64


def test_tall_box_far_above_the_window_is_found():
    boxes = [[0, 0, 5, 100], [0, 50, 5, 52], [0, 90, 5, 91]]
    image = ImageBoxes(_table(boxes), np.arange(3))
    assert image.visible(np.array([0, 95, 10, 99.0]), 0.0).tolist() == [0]
    assert image.visible(np.array([0, 51, 10, 60.0]), 0.0).tolist() == [0, 1]


def _dets(ltrb, cids, ssegs=None):
    data = {'boxes': kwimage.Boxes(np.asarray(ltrb, dtype=float), 'ltrb'), 'cids': np.asarray(cids)}
    if ssegs is not None:
        data['segmentations'] = kwimage.SegmentationList(ssegs)
    return kwimage.Detections(data=data, datakeys=['cids'])


def test_class_mask_rule_smaller_box_wins_then_later_one():
    big, small = [0, 0, 10, 10], [2, 2, 6, 6]
    for order in ([big, small], [small, big]):  # dataset order does not matter: the smaller box wins
        cids = [1, 2] if order[0] is big else [2, 1]
        mask = _annots.render_class_mask(_dets(order, cids), (12, 12))
        assert (mask[2:6, 2:6] == 2).all() and mask[1, 1] == 1 and mask[6, 6] == 1 and mask[10, 10] == 0
    # the same area: the later annotation wins where they overlap, each keeps the rest
    mask = _annots.render_class_mask(_dets([[0, 0, 4, 4], [2, 0, 6, 4]], [1, 2]), (4, 8))
    assert mask[0].tolist() == [1, 1, 2, 2, 2, 2, 0, 0]
    mask = _annots.render_class_mask(_dets([[2, 0, 6, 4], [0, 0, 4, 4]], [2, 1]), (4, 8))
    assert mask[0].tolist() == [1, 1, 1, 1, 2, 2, 0, 0]


def test_class_mask_pixel_centres_segmentations_and_values():
    # a fractional box takes the pixels whose centre it contains: x in [1.4, 3.6) -> pixels 1, 2, 3 (centres 1.5..3.5)
    assert _annots.render_class_mask(_dets([[1.4, 0, 3.6, 1]], [4]), (1, 6)).tolist() == [[0, 4, 4, 4, 0, 0]]
    tri = kwimage.Polygon(exterior=np.array([[2, 2], [12, 2], [2, 12]], float)).to_multi_polygon()
    dets = _dets([[2, 2, 12, 12], [20, 20, 25, 30]], [1, 2], [tri, None])
    mask = _annots.render_class_mask(dets, (32, 32), values=[10, 20], background=-1)
    assert mask[3, 3] == 10 and mask[11, 11] == -1  # inside / outside the triangle, not its box
    assert (mask[20:30, 20:25] == 20).all() and mask[30, 25] == -1 and mask.dtype == np.int32
    with pytest.raises(InvalidOptionError, match='values'):
        _annots.render_class_mask(dets, (4, 4), values=[1])


@settings(max_examples=100)
@given(boxes=st.lists(st.tuples(*[st.floats(-8, 40, allow_nan=False).map(lambda v: round(v * 4) / 4)] * 4),
                      min_size=1, max_size=6))
def test_class_mask_box_equals_its_polygon(boxes):
    """A box without a segmentation paints exactly what its rectangle as a segmentation paints."""
    ltrb = np.array([[min(a, c), min(b, d), max(a, c), max(b, d)] for a, b, c, d in boxes])
    cids = np.arange(1, len(ltrb) + 1)
    polys = [kwimage.Boxes(ltrb[k:k + 1], 'ltrb').to_polygons()[0] for k in range(len(ltrb))]
    np.testing.assert_array_equal(_annots.render_class_mask(_dets(ltrb, cids), (30, 33)),
                                  _annots.render_class_mask(_dets(ltrb, cids, polys), (30, 33)))
