"""COGs over HTTP range requests (RemoteCogReader, and GDAL /vsicurl/) from a loopback server the test starts."""
import pickle

import numpy as np
import pytest
from conformance import make_pixels
from remote_http import RangeServer

from ndsampler.backends import CogBackend, NoneBackend, source_identity
from ndsampler.delayed.readers import RasterioReader, RemoteCogReader, get_reader, reader_pool, remote_config
from ndsampler.errors import CacheError, ImageReadError
from ndsampler.frames import SimpleFrames
from ndsampler.io import write_cog


@pytest.fixture(autouse=True, params=['ours', 'gdal'])
def remote_reader(request, tmp_path, monkeypatch):
    """Every test twice: remote COGs read by RemoteCogReader (headers cached under tmp_path), then through GDAL."""
    monkeypatch.setattr(remote_config, 'enabled', request.param == 'ours')
    monkeypatch.setattr(remote_config, 'header_dpath', str(tmp_path / 'remote_headers'))
    reader_pool.clear()
    yield request.param
    reader_pool.clear()


@pytest.fixture
def served(tmp_path):
    root = tmp_path / 'www'
    root.mkdir()
    with RangeServer(root) as server:
        yield root, server.url


def test_remote_cog_source_read_in_place(served):
    root, url = served
    data = make_pixels((300, 280, 3), 'uint8')
    write_cog(root / 'scene.tif', data)
    backend = NoneBackend()
    ident = source_identity(f'{url}/scene.tif')
    fpath, nbytes = backend.ensure(ident, '/nowhere')
    assert nbytes == 0 and backend.state(ident, '/nowhere') == 'cached'
    assert backend.header(fpath).dsize == (280, 300)
    window = (slice(100, 190), slice(30, 270))
    np.testing.assert_array_equal(backend.read(fpath, window), data[window])
    np.testing.assert_array_equal(backend.read('/vsicurl/' + fpath, window), data[window])


def test_remote_source_converts_into_local_cache(served, tmp_path):
    root, url = served
    data = make_pixels((90, 70, 2), 'uint16')
    write_cog(root / 'band.tif', data)
    fpath, nbytes = CogBackend().ensure(source_identity(f'{url}/band.tif'), tmp_path / 'cache')
    assert nbytes > 0
    np.testing.assert_array_equal(CogBackend().read(fpath), data)


def test_remote_read_only_cache(served, tmp_path):
    root, url = served
    sources = {}
    for gid in range(3):
        sources[gid] = (tmp_path / f'src{gid}.tif', make_pixels((100, 120, 3), 'uint8', seed=gid))
        write_cog(*sources[gid])
    paths = {gid: p for gid, (p, _) in sources.items()}
    SimpleFrames(paths, workdir=root, backend='cog').prepare([0, 1], progress=False)
    remote = SimpleFrames(paths, workdir=url, backend='cog')
    assert remote.status() == {0: 'cached', 1: 'cached', 2: 'missing'}
    (fpath,) = remote.cache_fpaths(1)
    assert fpath.startswith(url + '/_cache/frames/cog/')
    got, _ = remote.backend.ensure(source_identity(paths[1]), remote.cache_dpath)
    np.testing.assert_array_equal(remote.backend.read(got, (slice(0, 50), slice(0, 60))), sources[1][1][:50, :60])
    with pytest.raises(CacheError, match='read-only'):
        remote.backend.ensure(source_identity(paths[2]), remote.cache_dpath)


def test_reader_pool_keeps_urls_and_never_stats(served, remote_reader):
    root, url = served
    write_cog(root / 'scene.tif', make_pixels((40, 50, 1), 'uint8'))
    fpath = f'{url}/scene.tif'
    reader = get_reader(fpath)  # a stat of the URL would raise SourceNotFoundError
    expected = RemoteCogReader if remote_reader == 'ours' else RasterioReader
    assert type(reader) is expected and reader.fpath == fpath  # the '//' is kept
    assert get_reader(fpath) is reader and reader.header().dsize == (50, 40)
    with pytest.raises(ImageReadError, match='missing.tif'):
        get_reader(f'{url}/missing.tif').header()


@pytest.mark.parametrize('prefix', ['', '/vsicurl/'])
def test_frames_over_a_remote_source(served, prefix):
    root, url = served
    data = make_pixels((260, 300, 3), 'uint8', seed=3)
    write_cog(root / 'scene.tif', data, blocksize=64, overviews=2)
    frames = SimpleFrames({1: f'{prefix}{url}/scene.tif'}, backend=None)
    assert frames.status() == {1: 'cached'}
    assert frames.image_dsize(1) == (300, 260)
    window = (slice(17, 200), slice(40, 290))
    np.testing.assert_array_equal(frames.load_region(1, window), data[window])
    np.testing.assert_array_equal(frames.load_region(1, (slice(250, 300), slice(-20, None))), data[250:, -20:])
    np.testing.assert_array_equal(frames.load_image(1), data)
    delayed = frames.load_delayed(1)
    np.testing.assert_array_equal(delayed[window].finalize(), data[window])
    local = SimpleFrames({1: root / 'scene.tif'}, backend=None).load_delayed(1)
    for factor in (0.5, 0.25, 0.3):  # read from overviews: the same pixels as the local file through GDAL
        np.testing.assert_array_equal(delayed.scale(factor).finalize(), local.scale(factor).finalize())
        np.testing.assert_array_equal(delayed[window].scale(factor).finalize(), local[window].scale(factor).finalize())
    assert delayed.scale(0.25).finalize().shape == (65, 75, 3)
    assert frames.load_delayed(1, channels='u.1').finalize().shape == (260, 300, 1)


@pytest.mark.parametrize('backend', ['cog', {'type': 'cog', 'config': {'compress': 'DEFLATE', 'level': 1}}])
def test_frames_over_a_remote_read_only_cache(served, tmp_path, backend):
    root, url = served
    sources = {gid: make_pixels((100, 120, 3), 'uint8', seed=gid) for gid in range(2)}
    paths = {gid: write_cog(tmp_path / f'src{gid}.tif', data) for gid, data in sources.items()}
    SimpleFrames(paths, workdir=root, backend=backend).prepare(progress=False)
    remote = SimpleFrames(paths, workdir=url, backend=backend)
    for gid, data in sources.items():
        np.testing.assert_array_equal(remote.load_region(gid, (slice(10, 90), slice(5, 115))), data[10:90, 5:115])
        np.testing.assert_array_equal(remote.load_delayed(gid).finalize(), data)
        np.testing.assert_array_equal(pickle.loads(pickle.dumps(remote)).load_image(gid), data)
