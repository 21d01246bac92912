"""Tests for the per-process reader pool and the format readers."""
import os
import pickle
import subprocess
import sys
import textwrap

import cv2
import numpy as np
import pytest
import rasterio

from ndsampler.delayed.readers import Cv2Reader, NpyReader, RasterioReader, ReaderPool, get_reader
from ndsampler.delayed.readers._formats import reader_class_for
from ndsampler.errors import ImageReadError, InvalidOptionError, SourceNotFoundError, WindowError
from ndsampler.io import write_cog


def spy_on_stat(monkeypatch):
    """Record the paths ``os.stat`` is called with (it still works)."""
    calls = []
    real_stat = os.stat

    def stat(path, *args, **kwargs):
        calls.append(os.fspath(path))
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(os, 'stat', stat)
    return calls


@pytest.fixture
def image():
    rng = np.random.default_rng(0)
    return rng.integers(0, 255, (70, 90, 3), dtype=np.uint8)


def test_npy_reader(tmp_path, image):
    fpath = tmp_path / 'a.npy'
    np.save(fpath, image)
    reader = get_reader(fpath)
    assert isinstance(reader, NpyReader)
    header = reader.header()
    assert header.dsize == (90, 70) and header.num_bands == 3 and header.dtype == np.uint8
    assert header.num_overviews == 0
    np.testing.assert_array_equal(reader.read((slice(5, 9), slice(2, 40)), bands=[2, 0]), image[5:9, 2:40][:, :, [2, 0]])
    np.testing.assert_array_equal(reader.read(), image)
    assert get_reader(fpath) is reader


def test_npy_2d_is_one_band(tmp_path):
    fpath = tmp_path / 'a.npy'
    np.save(fpath, np.ones((4, 5), np.float32))
    assert get_reader(fpath).read().shape == (4, 5, 1)


def test_cog_reader_windows_bands_overviews(tmp_path):
    data = np.arange(512 * 384 * 2, dtype=np.uint16).reshape(512, 384, 2)
    fpath = write_cog(tmp_path / 'a.tif', data, blocksize=128, overviews=2, nodata=7)
    reader = get_reader(fpath)
    assert isinstance(reader, RasterioReader)
    header = reader.header()
    assert header.dsize == (384, 512) and header.num_bands == 2
    assert header.num_overviews == 2 and header.nodata == 7 and header.dtype == np.uint16
    got = reader.read((slice(100, 130), slice(7, 300)), bands=[1])
    np.testing.assert_array_equal(got, data[100:130, 7:300, 1:2])
    ovr = reader.read(overview=2)
    assert ovr.shape == (128, 96, 2)
    assert header.overview_dsize(2) == (96, 128)
    with pytest.raises(InvalidOptionError, match='overview'):
        reader.read(overview=3)
    with pytest.raises(WindowError, match='outside'):
        reader.read((slice(0, 600), slice(0, 10)))
    with pytest.raises(InvalidOptionError, match='bands'):
        reader.read(bands=[2])


def test_png_reader_header_without_decode(tmp_path, image):
    fpath = tmp_path / 'a.png'
    cv2.imwrite(str(fpath), image[:, :, ::-1])
    reader = get_reader(fpath)
    assert isinstance(reader, Cv2Reader)
    header = reader.header()
    assert header.dsize == (90, 70) and header.num_bands == 3
    assert reader._data is None  # header did not decode
    np.testing.assert_array_equal(reader.read((slice(1, 3), slice(4, 8))), image[1:3, 4:8])
    assert reader.nbytes == image.nbytes


def test_missing_and_corrupt(tmp_path):
    with pytest.raises(SourceNotFoundError, match='nope.png'):
        get_reader(tmp_path / 'nope.png')
    for name in ['bad.png', 'bad.tif', 'bad.npy']:
        fpath = tmp_path / name
        fpath.write_bytes(b'not an image at all')
        with pytest.raises(ImageReadError, match=name):
            get_reader(fpath).read()


def test_replaced_file_is_reopened(tmp_path):
    fpath = tmp_path / 'a.npy'
    np.save(fpath, np.zeros((3, 3), np.uint8))
    first = get_reader(fpath)
    assert first.read().sum() == 0
    np.save(fpath, np.ones((3, 4), np.uint8))
    os.utime(fpath, ns=(1, 10 ** 18))
    second = get_reader(fpath)
    assert second is not first
    assert second.read().sum() == 12


def test_pool_budget_evicts_lru(tmp_path, image):
    pool = ReaderPool(budget=int(image.nbytes * 2.5))
    readers = []
    for i in range(4):
        fpath = tmp_path / f'{i}.png'
        cv2.imwrite(str(fpath), image)
        readers.append(pool.get(fpath))
        readers[-1].read()
    assert pool.nbytes <= pool.budget
    assert len(pool) == 2
    # the most recently used survive
    assert pool.get(tmp_path / '3.png') is readers[3]
    assert pool.get(tmp_path / '0.png') is not readers[0]
    with pytest.raises(InvalidOptionError):
        pool.budget = -1


def test_pool_running_total_matches_readers(tmp_path, image):
    """The pool's byte and handle totals are kept as it goes; they equal its readers' through every change."""
    def check():
        assert pool.nbytes == sum(entry.reader.nbytes for entry in pool._entries.values())
        assert pool.num_handles == sum(entry.reader.num_handles for entry in pool._entries.values())

    pngs = []
    for i in range(3):
        pngs.append(tmp_path / f'{i}.png')
        cv2.imwrite(str(pngs[-1]), image)
    np.save(tmp_path / 'a.npy', image)
    cog = write_cog(tmp_path / 'a.tif', np.zeros((256, 256, 1), np.uint8), blocksize=64, overviews=2)
    pool = ReaderPool(budget=int(image.nbytes * 2.5))
    tif = pool.get(cog)
    pool.get(tmp_path / 'a.npy').read()
    check()
    tif.read(overview=2)  # grows: an overview handle opened
    check()
    for fpath in pngs:
        pool.get(fpath)
        check()
        pool.get(fpath).read()  # grows: decoded; evicts the oldest
        check()
    assert len(pool) == 2 and pool.nbytes <= pool.budget
    pool.get(pngs[1]).close()  # shrinks while pooled (as a source conversion does)
    check()
    pool.forget(pngs[2])
    check()
    np.save(tmp_path / 'a.npy', image[:3])  # replaced in place: its new reader replaces the charge
    os.utime(tmp_path / 'a.npy', ns=(1, 10 ** 18))
    pool.get(tmp_path / 'a.npy')
    check()
    pool.budget = 0  # only the newest is kept
    pool.enforce_budget()
    check()
    assert len(pool) == 1
    pool.clear()
    assert pool.nbytes == 0 and pool.num_handles == 0 and len(pool) == 0


def test_pool_keeps_handles_under_max_handles(tmp_path, image):
    pool = ReaderPool(max_handles=3)
    npys = []
    for i in range(5):
        npys.append(tmp_path / f'{i}.npy')
        np.save(npys[-1], image)
        pool.get(npys[-1]).read()
        assert pool.num_handles <= 3
    assert list(pool._entries) == [str(f) for f in npys[2:]]  # the most recently used survive
    for i in range(4):  # decoded whole, no descriptor held: never evicted for handles
        cv2.imwrite(str(tmp_path / f'{i}.png'), image)
        pool.get(tmp_path / f'{i}.png').read()
    assert len(pool) == 7 and pool.num_handles == 3
    cog = write_cog(tmp_path / 'a.tif', np.zeros((256, 256, 1), np.uint8), blocksize=64, overviews=2)
    pool.get(cog).read(overview=1)  # two GDAL handles: two npy readers go
    assert pool.num_handles == 3 and str(npys[3]) not in pool._entries and str(npys[4]) in pool._entries
    assert pickle.loads(pickle.dumps(pool)).max_handles == 3
    assert ReaderPool().max_handles >= 1
    with pytest.raises(InvalidOptionError, match='max_handles'):
        pool.max_handles = 0


_FEW_DESCRIPTORS = textwrap.dedent('''
    import errno, resource, sys
    import cv2, numpy as np, PIL.Image
    from ndsampler.delayed.readers import get_reader
    from ndsampler.errors import ImageReadError
    from ndsampler.io import write_cog
    dpath = sys.argv[1]
    image = np.zeros((8, 8, 3), np.uint8)
    for i in range(300):
        np.save(f'{dpath}/{i}.npy', image)
    np.save(f'{dpath}/new.npy', image)
    write_cog(f'{dpath}/new.tif', image)
    cv2.imwrite(f'{dpath}/new.png', image)
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
    import ndsampler.delayed.readers._pool as pool_module
    pool = pool_module.reader_pool = pool_module.ReaderPool()  # as a process started with this limit has
    assert pool.max_handles == 32
    for i in range(300):  # more memory maps than descriptors allowed
        get_reader(f'{dpath}/{i}.npy').read()
    assert pool.num_handles <= 32
    held = []
    for name in ['new.npy', 'new.tif', 'new.png']:  # not the file's fault: no ImageReadError
        reader = get_reader(f'{dpath}/{name}')  # may evict (and so close) an older reader
        try:
            while True:
                held.append(open(f'{dpath}/0.npy', 'rb'))
        except OSError:
            pass
        try:
            reader.read()
        except ImageReadError as ex:
            raise AssertionError(f'{name}: {ex!r}')
        except OSError as ex:
            assert ex.errno == errno.EMFILE, (name, ex)
        else:
            raise AssertionError(f'{name} opened with no descriptor left')
    print('ok')
''')


def test_pool_and_readers_with_few_descriptors(tmp_path):
    """Under a low RLIMIT_NOFILE the pool stays within it; running out raises OSError, not ImageReadError."""
    proc = subprocess.run([sys.executable, '-c', _FEW_DESCRIPTORS, str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.strip() == 'ok', proc.stderr


def test_pool_and_reader_pickle_without_handles(tmp_path, image):
    fpath = write_cog(tmp_path / 'a.tif', image, overviews=0)
    pool = ReaderPool()
    reader = pool.get(fpath)
    reader.read()
    clone = pickle.loads(pickle.dumps(reader))
    assert clone._handles == {}
    np.testing.assert_array_equal(clone.read(), image)
    pool2 = pickle.loads(pickle.dumps(pool))
    assert len(pool2) == 0 and pool2.budget == pool.budget


def test_pool_forgets_after_fork(tmp_path, image):
    fpath = tmp_path / 'a.npy'
    np.save(fpath, image)
    pool = ReaderPool()
    reader = pool.get(fpath)
    pool._pid = -1  # simulate being in a child process
    assert pool.get(fpath) is not reader
    assert len(pool) == 1


def test_rasterio_reader_matches_rasterio(tmp_path, image):
    fpath = write_cog(tmp_path / 'a.tif', image, blocksize=16, overviews=1)
    with rasterio.open(fpath, overview_level=0) as src:
        expected = src.read().transpose(1, 2, 0)
    np.testing.assert_array_equal(get_reader(fpath).read(overview=1), expected)


def test_immutable_paths_are_not_stat_ed_again(tmp_path, image, monkeypatch):
    fpath = tmp_path / 'frame.npy'
    np.save(fpath, image)
    pool = ReaderPool()
    pool.mark_immutable(fpath)
    reader = pool.get(fpath)
    stat_calls = spy_on_stat(monkeypatch)
    assert pool.get(str(fpath)) is reader
    assert stat_calls == []
    # an atomic rebuild under the same name: marking again drops the reader of the old file
    np.save(tmp_path / 'tmp.npy', image[::-1].copy())
    os.replace(tmp_path / 'tmp.npy', fpath)
    os.utime(fpath, ns=(1, 10 ** 18))
    assert pool.get(fpath) is reader
    pool.mark_immutable(fpath)
    assert pool.get(fpath) is not reader
    np.testing.assert_array_equal(pool.get(fpath).read(), image[::-1])
    with pytest.raises(SourceNotFoundError, match='nope.npy'):
        pool.mark_immutable(tmp_path / 'nope.npy')


def test_unmarked_paths_are_checked_every_time(tmp_path, image):
    fpath = tmp_path / 'a.npy'
    np.save(fpath, image)
    pool = ReaderPool()
    reader = pool.get(fpath)
    os.remove(fpath)
    with pytest.raises(SourceNotFoundError):
        pool.get(fpath)
    np.save(fpath, image)
    assert pool.get(fpath) is not reader


def test_reader_kinds_for_urls_and_suffixes():
    assert reader_class_for('http://host:80/a/b.tif') is RasterioReader
    assert reader_class_for('/vsicurl/https://host/x.npy') is RasterioReader
    assert reader_class_for('/data/x.NPY') is NpyReader
    assert reader_class_for('/data/x.jpg') is Cv2Reader


@pytest.mark.parametrize('dtype', [np.uint8, np.uint16])
def test_png_with_alpha_comes_out_rgba(tmp_path, dtype):
    rgba = (np.random.default_rng(1).random((9, 7, 4)) * 200).astype(dtype)
    fpath = tmp_path / 'a.png'
    cv2.imwrite(str(fpath), rgba[:, :, [2, 1, 0, 3]])
    got = ReaderPool().get(fpath).read()
    assert got.dtype == dtype and got.flags.c_contiguous
    np.testing.assert_array_equal(got, rgba)


def test_forget_closes_the_reader_and_drops_the_mark(tmp_path, image, monkeypatch):
    fpath = tmp_path / 'frame.npy'
    np.save(fpath, image)
    pool = ReaderPool()
    pool.mark_immutable(fpath)
    reader = pool.get(fpath)
    reader.read()
    # rebuilt in place with the same size and mtime: only forget notices
    stamp = os.stat(fpath)
    np.save(fpath, image[::-1].copy())
    os.utime(fpath, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    assert pool.get(fpath) is reader
    pool.forget(fpath)
    assert reader._data is None and len(pool) == 0  # closed: its memory map released
    fresh = pool.get(fpath)
    assert fresh is not reader
    np.testing.assert_array_equal(fresh.read(), image[::-1])
    stat_calls = spy_on_stat(monkeypatch)
    pool.get(fpath)
    assert stat_calls == [str(fpath)]  # the mark is gone: stat-ed on every get again
    pool.forget(tmp_path / 'never-opened.npy')  # nothing pooled, no file: a no-op
    assert len(pool) == 1


@pytest.mark.parametrize('keep_marks', [False, True])
def test_clear_closes_every_reader(tmp_path, image, monkeypatch, keep_marks):
    fpaths = [tmp_path / f'{k}.npy' for k in range(2)]
    pool = ReaderPool()
    for fpath in fpaths:
        np.save(fpath, image)
        pool.mark_immutable(fpath)
    readers = [pool.get(fpath) for fpath in fpaths]
    for reader in readers:
        reader.read()
    pool.clear(keep_marks=keep_marks)
    assert len(pool) == 0 and all(reader._data is None for reader in readers)
    assert pool.get(fpaths[0]) is not readers[0]
    stat_calls = spy_on_stat(monkeypatch)
    pool.get(fpaths[0])
    assert stat_calls == ([] if keep_marks else [str(fpaths[0])])
