"""Per-image box arrays: the band query equals a brute-force visibility test."""
import numpy as np
from hypothesis import given, settings, strategies as st

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
