"""Session fixtures: kwcoco demo datasets generated once into a temporary folder."""
import kwcoco
import pytest


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
