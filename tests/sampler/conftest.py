"""Session fixtures: kwcoco demo datasets generated once into a temporary folder."""
import kwcoco
import pytest

from sampler_data import MULTISENSOR_BACKENDS, make_msi_video_dset, make_multisensor_dset, make_raster_dset

from ndsampler import CocoSampler


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
    """See :func:`sampler_data.make_multisensor_dset`."""
    return make_multisensor_dset(demo_root)


@pytest.fixture(scope='session')
def multisensor_samplers(multisensor, tmp_path_factory):
    """One sampler per backend over the multisensor video (shared: do not damage their caches)."""
    work = tmp_path_factory.mktemp('multisensor_work')
    return {backend: CocoSampler(multisensor, workdir=work / str(backend), backend=backend)
            for backend in MULTISENSOR_BACKENDS}


@pytest.fixture(scope='session')
def raster_dset(demo_root):
    return make_raster_dset(demo_root)


@pytest.fixture(scope='session')
def msi_video(demo_root):
    return make_msi_video_dset(demo_root)



def _sampler_fixture(dset_fixture: str):
    """A module-scoped fixture: a CocoSampler over the session dataset fixture ``dset_fixture``."""
    @pytest.fixture(scope='module')
    def sampler(request, tmp_path_factory):
        from ndsampler.sampler import CocoSampler
        dset = request.getfixturevalue(dset_fixture)
        return CocoSampler(dset, workdir=tmp_path_factory.mktemp(f'{dset_fixture}_work'))
    return sampler


raster_sampler = _sampler_fixture('raster_dset')
shapes_sampler = _sampler_fixture('shapes8')
#: ``vidshapes8-multispectral``
vid_sampler = _sampler_fixture('vidshapes_msi')
#: the synthetic video with bands at 1, 1/3 and 1/2 resolution
msi_sampler = _sampler_fixture('msi_video')
