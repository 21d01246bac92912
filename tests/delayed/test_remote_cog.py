"""RemoteCogReader: remote COGs by our own range requests, against a loopback HTTP server and moto's S3 API."""
import multiprocessing
import os
import pickle
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import rasterio

from ndsampler.delayed.readers import RasterioReader, RemoteCogReader, get_reader, reader_pool, remote_config
from ndsampler.delayed.readers._remote_cog import _tiles
from ndsampler.errors import ImageReadError, StaleFrameError
from ndsampler.io import write_cog

sys.path.insert(0, str(Path(__file__).parents[1] / 'backends'))
from conformance import make_pixels  # noqa: E402
from remote_http import RangeServer  # noqa: E402


@pytest.fixture(autouse=True)
def fresh(tmp_path, monkeypatch):
    """Headers cached under tmp_path; no reader or decoded tile left over from another test."""
    monkeypatch.setattr(remote_config, 'header_dpath', str(tmp_path / 'remote_headers'))
    monkeypatch.setattr(remote_config, 'enabled', True)
    reader_pool.clear()
    _tiles.clear()
    yield
    reader_pool.clear()
    _tiles.clear()


@pytest.fixture
def server(tmp_path):
    root = tmp_path / 'www'
    root.mkdir()
    with RangeServer(root) as srv:
        srv.root = root
        yield srv


def new_worker():
    """What a fresh worker process starts with: no open reader, no decoded tile (the header cache on disk stays)."""
    reader_pool.clear()
    _tiles.clear()


def level_pixels(fpath, level):
    with rasterio.open(fpath, overview_level=level - 1 if level else None) as src:
        return src.read().transpose(1, 2, 0)


def assert_same_as_rasterio(reader, fpath, seed=0, windows=6):
    """Every level: the stored pixels equal rasterio's, random windows and band subsets (edge tiles included)."""
    rng = np.random.default_rng(seed)
    header = reader.header()
    for level in range(header.num_overviews + 1):
        ref = level_pixels(fpath, level)
        h, w, c = ref.shape
        np.testing.assert_array_equal(reader.read((slice(0, h), slice(0, w)), overview=level), ref)
        for _ in range(windows):
            y0, x0 = rng.integers(0, h), rng.integers(0, w)
            y1, x1 = rng.integers(y0 + 1, h + 1), rng.integers(x0 + 1, w + 1)
            bands = list(rng.permutation(c)[:rng.integers(1, c + 1)])
            got = reader.read((slice(y0, y1), slice(x0, x1)), overview=level, bands=bands)
            np.testing.assert_array_equal(got, ref[y0:y1, x0:x1][:, :, bands])
        np.testing.assert_array_equal(reader.read((slice(h - 1, h), slice(w - 1, w)), overview=level), ref[-1:, -1:])
    return header


@pytest.mark.parametrize('dtype', ['uint8', 'uint16', 'float32'])
@pytest.mark.parametrize('bands', [1, 3, 5])
@pytest.mark.parametrize('compress', ['ZSTD', 'DEFLATE', 'NONE'])
def test_same_pixels_as_rasterio(server, dtype, bands, compress):
    data = make_pixels((203, 170, bands), dtype, seed=bands)
    if dtype == 'float32':
        data[5:9, 7:30] = np.nan
    fpath = write_cog(server.root / 'a.tif', data, compress=compress, blocksize=32, overviews=3)
    reader = get_reader(f'{server.url}/a.tif')
    assert type(reader) is RemoteCogReader and not reader.uses_gdal
    header = assert_same_as_rasterio(reader, fpath)
    assert header == RasterioReader(str(fpath)).header()


@pytest.mark.parametrize('compress', ['ZSTD', 'LZW'])
def test_overview_rows_past_the_stored_ones_repeat_the_last(server, compress):
    # GDAL rounds 170 / 4 = 42.5 down to 42 where the pyramid's size is ceil(170 / 4) = 43
    fpath = write_cog(server.root / 'a.tif', make_pixels((203, 170, 2), 'uint16'), blocksize=32, overviews=3,
                      compress=compress)
    reader = get_reader(f'{server.url}/a.tif')
    local = RasterioReader(str(fpath))
    assert reader.uses_gdal == (compress == 'LZW')
    for level in range(1, 4):
        ref = level_pixels(fpath, level)
        w, h = reader.header().overview_dsize(level)
        rows = np.minimum(np.arange(h), ref.shape[0] - 1)
        cols = np.minimum(np.arange(w), ref.shape[1] - 1)
        for got in (reader.read(None, overview=level), local.read(None, overview=level)):
            np.testing.assert_array_equal(got, ref[rows][:, cols])
        np.testing.assert_array_equal(reader.read((slice(h - 1, h), slice(w - 1, w)), overview=level),
                                      ref[-1:, -1:])


@pytest.mark.parametrize('layout', ['band-interleaved', 'strips', 'bigtiff-nodata'])
def test_gtiff_layouts(server, layout):
    data = make_pixels((150, 140, 3), 'int16', seed=4)
    profile = dict(driver='GTiff', width=140, height=150, count=3, dtype='int16', compress='deflate', predictor=2)
    if layout == 'band-interleaved':
        profile.update(tiled=True, blockxsize=32, blockysize=32, interleave='band')
    elif layout == 'strips':
        profile.update(blockysize=16)
    else:
        profile.update(tiled=True, blockxsize=64, blockysize=64, BIGTIFF='YES', nodata=-7)
    fpath = server.root / 'a.tif'
    with rasterio.open(fpath, 'w', **profile) as dst:
        dst.write(data.transpose(2, 0, 1))
    reader = get_reader(f'{server.url}/a.tif')
    assert not reader.uses_gdal
    assert_same_as_rasterio(reader, fpath)
    assert reader.header() == RasterioReader(str(fpath)).header()


def test_codecs_it_does_not_decode_go_through_gdal(server):
    fpath = write_cog(server.root / 'a.tif', make_pixels((120, 100, 3), 'uint8'), compress='LZW', blocksize=32)
    reader = get_reader(f'/vsicurl/{server.url}/a.tif')
    assert reader.uses_gdal
    np.testing.assert_array_equal(reader.read((slice(3, 99), slice(20, 97))), level_pixels(fpath, 0)[3:99, 20:97])


def test_header_once_per_source_and_first_sample_round_trips(server):
    write_cog(server.root / 'a.tif', make_pixels((256, 256, 3), 'uint8'), blocksize=64)
    url = f'{server.url}/a.tif'
    window = (slice(70, 120), slice(10, 60))  # within one tile
    get_reader(url).read(window)
    assert len(server.log) == 2  # the header, then the tile
    new_worker()
    server.log.clear()
    get_reader(url).read(window)
    assert len(server.log) == 1  # the header came from the disk cache: one round trip
    server.log.clear()
    get_reader(url).read(window)
    assert server.log == []  # the decoded tile is cached


def test_adjacent_tiles_coalesce_and_groups_run_concurrently(server):
    # 128^2 uncompressed tiles: 16 KiB each, a row of them 64 KiB apart
    write_cog(server.root / 'a.tif', make_pixels((512, 512, 1), 'uint8'), blocksize=128, overviews=0, compress='NONE')
    reader = get_reader(f'{server.url}/a.tif')
    reader.header()
    server.log.clear()
    reader.read((slice(140, 160), slice(0, 512)))  # one row of 4 adjacent tiles
    assert len(server.log) == 1
    server.log.clear()
    _tiles.clear()
    server.httpd.delay = 0.05
    reader.read((slice(0, 512), slice(100, 110)))  # a column of 4 tiles, far apart in the file
    assert len(server.log) == 4 and server.httpd.max_inflight > 1


def test_tile_cache_budget(server, monkeypatch):
    write_cog(server.root / 'a.tif', make_pixels((256, 256, 1), 'uint8'), blocksize=32, overviews=0)
    reader = get_reader(f'{server.url}/a.tif')
    monkeypatch.setattr(remote_config, 'tile_cache_bytes', 3 * 32 * 32)
    reader.read()
    assert 0 < _tiles.nbytes <= 3 * 32 * 32
    monkeypatch.setattr(remote_config, 'tile_cache_bytes', 0)
    assert _tiles.nbytes == 0
    server.log.clear()
    reader.read((slice(0, 8), slice(0, 8)))
    reader.read((slice(0, 8), slice(0, 8)))
    assert len(server.log) == 2


def test_changed_remote_file_is_noticed(server):
    url = f'{server.url}/a.tif'
    write_cog(server.root / 'a.tif', make_pixels((200, 150, 3), 'uint8', seed=1), blocksize=32)
    get_reader(url).read()
    new = make_pixels((200, 150, 3), 'uint8', seed=2)
    write_cog(server.root / 'a.tif', new, blocksize=32, compress='DEFLATE')  # other tile offsets, same header
    new_worker()  # the disk cache still holds the old header
    np.testing.assert_array_equal(get_reader(url).read(), new)
    write_cog(server.root / 'a.tif', make_pixels((90, 150, 3), 'uint8'), blocksize=32)
    _tiles.clear()
    with pytest.raises(StaleFrameError, match='changed'):
        get_reader(url).read()
    reader_pool.forget(url)
    assert get_reader(url).header().dsize == (150, 90)


def test_missing_file_and_pickling(server):
    with pytest.raises(ImageReadError, match='404'):
        get_reader(f'{server.url}/missing.tif').header()
    data = make_pixels((64, 80, 2), 'float32')
    write_cog(server.root / 'a.tif', data, blocksize=32)
    reader = get_reader(f'{server.url}/a.tif')
    reader.read()
    again = pickle.loads(pickle.dumps(reader))
    np.testing.assert_array_equal(again.read(), data)


def _read_in_child(url, window, queue):
    queue.put(get_reader(url).read(window))


def test_forked_worker_reads(server):
    data = make_pixels((200, 180, 3), 'uint8', seed=6)
    write_cog(server.root / 'a.tif', data, blocksize=32, overviews=0)
    url = f'{server.url}/a.tif'
    reader = get_reader(url)
    reader.read((slice(0, 100), slice(0, 180)))  # the parent's thread pool, connections and tile cache are in use
    ctx = multiprocessing.get_context('fork')
    queue = ctx.Queue()
    child = ctx.Process(target=_read_in_child, args=(url, (slice(20, 190), slice(5, 170)), queue))
    child.start()
    try:
        np.testing.assert_array_equal(queue.get(timeout=30), data[20:190, 5:170])
    finally:
        child.join(timeout=10)
    assert child.exitcode == 0


def _free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@pytest.fixture(scope='module')
def moto_s3():
    """moto's S3 API on loopback (``moto_server -p PORT``), stopped with the module."""
    exe = shutil.which('moto_server', path=os.path.dirname(sys.executable)) or shutil.which('moto_server')
    if exe is None:
        pytest.skip('moto[server] is not installed (requirements/remote.txt)')
    port = _free_port()
    proc = subprocess.Popen([exe, '-H', '127.0.0.1', '-p', str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(('127.0.0.1', port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError('moto_server did not start') from None
                time.sleep(0.1)
        yield f'127.0.0.1:{port}'
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.parametrize('reader_kind', ['ours', 'gdal'])
def test_s3_on_moto(moto_s3, tmp_path, monkeypatch, reader_kind):
    boto3 = pytest.importorskip('boto3')
    env = {'AWS_S3_ENDPOINT': moto_s3, 'AWS_HTTPS': 'NO', 'AWS_VIRTUAL_HOSTING': 'FALSE',
           'AWS_ACCESS_KEY_ID': 'testing', 'AWS_SECRET_ACCESS_KEY': 'testing', 'AWS_REGION': 'us-east-1'}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(remote_config, 'enabled', reader_kind == 'ours')
    data = make_pixels((150, 130, 3), 'uint16', seed=5)
    fpath = write_cog(tmp_path / 'scene.tif', data, blocksize=32, overviews=2)
    client = boto3.client('s3', endpoint_url=f'http://{moto_s3}', region_name='us-east-1')
    client.create_bucket(Bucket=f'bucket-{reader_kind}')
    client.upload_file(str(fpath), f'bucket-{reader_kind}', 'dir/scene.tif')
    for path in (f's3://bucket-{reader_kind}/dir/scene.tif', f'/vsis3/bucket-{reader_kind}/dir/scene.tif'):
        reader = get_reader(path)
        assert type(reader) is (RemoteCogReader if reader_kind == 'ours' else RasterioReader)
        assert_same_as_rasterio(reader, fpath, windows=2)
