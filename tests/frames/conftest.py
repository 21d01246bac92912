"""Small kwcoco demo datasets shared by the frames tests (generated once per session)."""
import kwcoco
import pytest
from frames_helpers import smooth_image, write_tif



@pytest.fixture(scope='session')
def shapes_dset(tmp_path_factory):
    return kwcoco.CocoDataset.demo('shapes8', dpath=tmp_path_factory.mktemp('shapes'), verbose=0,
                                   image_size=(96, 96))


@pytest.fixture(scope='session')
def msi_dset(tmp_path_factory):
    return kwcoco.CocoDataset.demo('vidshapes8-multispectral', dpath=tmp_path_factory.mktemp('msi'), verbose=0,
                                   image_size=(96, 96), num_frames=1)


@pytest.fixture
def tif_sources(tmp_path):
    """Six small tif sources: {image_id: (path, pixels)}."""
    out = {}
    for gid in range(1, 7):
        data = smooth_image((120 + gid, 140, 3), gid)
        out[gid] = (write_tif(tmp_path / f'src_{gid}.tif', data), data)
    return out
