"""Session fixtures: kwcoco demo datasets generated once into a temporary folder."""
import kwcoco
import pytest

from sampler_data import make_msi_video_dset, make_raster_dset


@pytest.fixture(scope='session')
def demo_root(tmp_path_factory):
    return tmp_path_factory.mktemp('sampler_demo')


def _demo(root, key, **kw):
    return kwcoco.CocoDataset.demo(key, dpath=root / key, verbose=0, **kw)


@pytest.fixture(scope='session')
def shapes8(demo_root):
    return _demo(demo_root, 'shapes8')


@pytest.fixture(scope='session')
def vidshapes_msi(demo_root):
    return _demo(demo_root, 'vidshapes8-multispectral', num_frames=3)


@pytest.fixture(scope='session')
def multisensor(demo_root):
    return _demo(demo_root, 'vidshapes1-msi-multisensor')


@pytest.fixture(scope='session')
def raster_dset(demo_root):
    return make_raster_dset(demo_root)


@pytest.fixture(scope='session')
def msi_video(demo_root):
    return make_msi_video_dset(demo_root)
