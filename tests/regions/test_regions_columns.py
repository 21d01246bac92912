"""Image and box columns read from a JSON dataset and from kwcoco's SQL view of it agree."""
import kwcoco
import numpy as np
import pytest

from ndsampler.errors import TargetError
from ndsampler.regions import CocoRegions
from ndsampler.regions._columns import box_columns, image_annotation_values, image_columns, is_sql_view

pytest.importorskip('sqlalchemy')


@pytest.fixture
def pair(tmp_path):
    """A dataset with an unsized image, annotations without box / category / segmentation; its SQL view."""
    dset = kwcoco.CocoDataset()
    dset.fpath = str(tmp_path / 'data.kwcoco.json')
    cid = dset.add_category('thing')
    g1 = dset.add_image(file_name='a.png', width=30, height=20)
    g2 = dset.add_image(file_name='b.png')
    dset.add_annotation(image_id=g1, category_id=cid, bbox=[1.5, 2, 3, 4], segmentation=[[1, 2, 3, 2, 3, 5]])
    dset.add_annotation(image_id=g1, category_id=cid)  # no box: not a region
    dset.add_annotation(image_id=g2, bbox=[0, 0, 5, 5])  # no category
    dset.dump()
    sql = dset.view_sql()
    assert is_sql_view(sql) and not is_sql_view(dset)
    return dset, sql


def test_columns_agree(pair):
    dset, sql = pair
    for cols_json, cols_sql in [(image_columns(dset), image_columns(sql)), (box_columns(dset), box_columns(sql))]:
        for a, b in zip(cols_json, cols_sql):
            np.testing.assert_array_equal(a, b)
    boxes = box_columns(sql)
    assert boxes.aid.tolist() == [1, 3] and boxes.category_id.tolist() == [1, -1]
    assert boxes.xywh.tolist() == [[1.5, 2, 3, 4], [0, 0, 5, 5]]
    assert np.isnan(image_columns(sql).dsize[1]).all()


def test_image_annotation_values(pair):
    dset, sql = pair
    assert image_annotation_values(sql, 1, 'segmentation') == [[[1, 2, 3, 2, 3, 5]], None]
    assert image_annotation_values(sql, 2, 'segmentation') == [None]
    assert image_annotation_values(sql, 1, 'not_a_column') is None
    assert image_annotation_values(dset, 1, 'segmentation') is None


def test_unsized_image_of_a_sql_view_is_named(pair):
    _, sql = pair
    with pytest.raises(TargetError, match='image id=2 has no width/height'):
        CocoRegions(sql).table
