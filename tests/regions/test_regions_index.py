"""BoxIndex against a brute-force scan; visible fraction and union coverage definitions."""
import kwcoco
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ndsampler.errors import UnknownIdError
from ndsampler.regions import BoxIndex, CocoRegions, union_coverage, visible_fraction


def brute_fraction(box, window):
    """Plain-Python visible fraction (module rule, degenerate boxes by their centre)."""
    x0, y0, x1, y1 = box
    wx0, wy0, wx1, wy1 = window
    area = (x1 - x0) * (y1 - y0)
    if area <= 0:
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        return 1.0 if (wx0 <= cx < wx1 and wy0 <= cy < wy1) else 0.0
    iw = max(0.0, min(x1, wx1) - max(x0, wx0))
    ih = max(0.0, min(y1, wy1) - max(y0, wy0))
    return iw * ih / area


coord = st.integers(-40, 240)
box_st = st.tuples(coord, coord, st.integers(0, 60), st.integers(0, 60)).map(
    lambda b: (b[0], b[1], b[0] + b[2], b[1] + b[3]))
big_box_st = st.tuples(coord, coord, st.integers(100, 600), st.integers(100, 600)).map(
    lambda b: (b[0], b[1], b[0] + b[2], b[1] + b[3]))


@given(boxes=st.lists(box_st, max_size=60), big=st.lists(big_box_st, max_size=3),
       windows=st.lists(box_st, min_size=1, max_size=5),
       thresh=st.sampled_from([0.0, 0.25, 0.5, 0.999]))
def test_query_matches_brute_force(boxes, big, windows, thresh):
    ltrb = np.array(boxes + big, dtype=float).reshape(-1, 4)
    gids = np.where(np.arange(len(ltrb)) % 3 == 0, 7, 3)
    index = BoxIndex([3, 7, 9], [(200, 150), (64, 256), (10, 10)], gids, ltrb)
    for gid in (3, 7, 9):
        for window in windows:
            rows, frac = index.query(gid, window, thresh)
            expect = [i for i in range(len(ltrb)) if gids[i] == gid and brute_fraction(ltrb[i], window) > thresh]
            assert rows.tolist() == expect
            assert np.allclose(frac, [brute_fraction(ltrb[i], window) for i in expect])


def test_visible_fraction_examples():
    boxes = np.array([[0, 0, 10, 10], [2, 2, 2, 8], [30, 30, 40, 40]], dtype=float)
    assert visible_fraction(boxes, [0, 0, 5, 10]).tolist() == [0.5, 1.0, 0.0]
    assert visible_fraction(boxes, [2, 0, 5, 10]).tolist()[1] == 1.0
    assert visible_fraction(boxes, [0, 0, 2, 10]).tolist()[1] == 0.0  # half-open window


@given(boxes=st.lists(st.tuples(st.integers(-5, 25), st.integers(-5, 25), st.integers(0, 15), st.integers(0, 15)),
                      max_size=8),
       window=st.tuples(st.integers(-5, 15), st.integers(-5, 15), st.integers(1, 15), st.integers(1, 15)))
def test_union_coverage_matches_raster(boxes, window):
    offset = 10
    canvas = np.zeros((60, 60), bool)
    ltrb = []
    for x, y, w, h in boxes:
        canvas[y + offset:y + h + offset, x + offset:x + w + offset] = True
        ltrb.append((x, y, x + w, y + h))
    wx, wy, ww, wh = window
    expect = canvas[wy + offset:wy + wh + offset, wx + offset:wx + ww + offset].mean()
    got = union_coverage(np.array(ltrb, float).reshape(-1, 4), (wx, wy, wx + ww, wy + wh))
    assert np.isclose(got, expect)


def test_big_synthetic_dataset_indexes():
    """100k boxes in one image and 20k small images, built without pixels."""
    rng = np.random.default_rng(0)
    n = 100_000
    xy = rng.uniform(0, 20000, size=(n, 2))
    wh = rng.uniform(1, 50, size=(n, 2))
    anns = [{'id': i + 1, 'image_id': 1, 'category_id': 1, 'bbox': [*xy[i], *wh[i]]} for i in range(n)]
    images = [{'id': 1, 'file_name': 'big.tif', 'width': 20000, 'height': 20000}]
    images += [{'id': k, 'file_name': f'{k}.png', 'width': 64, 'height': 64} for k in range(2, 20_002)]
    dset = kwcoco.CocoDataset({'images': images, 'annotations': anns, 'categories': [{'id': 1, 'name': 'a'}]})
    regions = CocoRegions(dset)
    assert regions.n_positives == n
    window = [10000, 10000, 10256, 10256]
    got = regions.overlapping_aids(1, window)
    ltrb = np.concatenate([xy, xy + wh], axis=1)
    expect = (np.flatnonzero(visible_fraction(ltrb, window) > 0) + 1).tolist()
    assert got == expect and len(got) > 0
    assert regions.overlapping_aids(5, [0, 0, 64, 64]) == []


def test_empty_index_has_no_images_and_no_boxes():
    index = BoxIndex([], [], [], [])
    assert index.slots_of(np.zeros(0, np.int64)).tolist() == []
    regions = CocoRegions(kwcoco.CocoDataset())
    assert regions.isect_index.nbytes >= 0 and regions.n_images == 0
    with pytest.raises(UnknownIdError):
        regions.overlapping_aids(1, [0, 0, 1, 1])
