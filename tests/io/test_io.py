import multiprocessing
import os
import time

import numpy as np
import pytest
import rasterio

from ndsampler import errors
from ndsampler.io import COG_LEVEL_RANGES, FileLock, atomic_write, is_cog, write_cog
from ndsampler.io import cog as cog_mod


def test_atomic_write_replaces_only_on_success(tmp_path):
    fpath = tmp_path / 'a.txt'
    fpath.write_text('old')
    with pytest.raises(RuntimeError):
        with atomic_write(fpath) as tmp:
            tmp.write_text('half')
            raise RuntimeError('boom')
    assert fpath.read_text() == 'old'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['a.txt']
    with atomic_write(fpath) as tmp:
        tmp.write_text('new')
    assert fpath.read_text() == 'new'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['a.txt']


def test_atomic_write_requires_output(tmp_path):
    with pytest.raises(errors.CacheError):
        with atomic_write(tmp_path / 'never.txt'):
            pass


def _hold_lock(fpath, flag, seconds):
    with FileLock(fpath):
        open(flag, 'w').close()
        time.sleep(seconds)


def _wait_until_held(proc, flag, limit=20.0):
    """Wait (at most ``limit`` seconds) until the child ``proc`` says it holds the lock."""
    deadline = time.monotonic() + limit
    while not flag.exists():
        assert proc.is_alive(), f'the lock holder exited with {proc.exitcode} before taking the lock'
        assert time.monotonic() < deadline, f'the lock holder did not take the lock within {limit} s'
        time.sleep(0.01)


def test_file_lock_excludes_other_processes(tmp_path):
    target = tmp_path / 'x.npy'
    flag = tmp_path / 'held'
    proc = multiprocessing.get_context('fork').Process(target=_hold_lock, args=(target, flag, 1.0))
    proc.start()
    _wait_until_held(proc, flag)
    with pytest.raises(errors.CacheError, match='timed out'):
        FileLock(target, timeout=0.2).acquire()
    proc.join()
    with FileLock(target, timeout=1.0):
        pass


def test_file_lock_released_when_holder_is_killed(tmp_path):
    target = tmp_path / 'x.npy'
    flag = tmp_path / 'held'
    proc = multiprocessing.get_context('fork').Process(target=_hold_lock, args=(target, flag, 60))
    proc.start()
    try:
        _wait_until_held(proc, flag)
        # while the holder lives, nobody else gets the lock
        with pytest.raises(errors.CacheError, match='timed out'):
            FileLock(target, timeout=0.2).acquire()
    finally:
        os.kill(proc.pid, 9)
        proc.join(timeout=10)
    assert proc.exitcode == -9
    # the kernel dropped the dead holder's lock: taking it now succeeds at once
    start = time.monotonic()
    lock = FileLock(target, timeout=2.0)
    with lock:
        assert time.monotonic() - start < 2.0


@pytest.mark.parametrize('dtype', ['uint8', 'uint16', 'int16', 'float32'])
@pytest.mark.parametrize('staged_on_disk', [False, True])
def test_write_cog_roundtrip(tmp_path, dtype, staged_on_disk, monkeypatch):
    if staged_on_disk:
        monkeypatch.setattr(cog_mod, '_IN_MEMORY_LIMIT', 1)
    rng = np.random.default_rng(0)
    data = (rng.random((300, 520, 2)) * 200).astype(dtype)
    fpath = write_cog(tmp_path / 'a.tif', data, blocksize=128)
    assert is_cog(fpath)
    with rasterio.open(fpath) as src:
        assert src.block_shapes[0] == (128, 128)
        factors = src.overviews(1)
        assert factors[0] == 2 and 520 / factors[-1] <= 128 < 520 / factors[-1] * 2
        np.testing.assert_array_equal(src.read().transpose(1, 2, 0), data)
    assert sorted(p.name for p in tmp_path.iterdir()) == ['a.tif']


def test_write_cog_rejects_bad_options(tmp_path):
    data = np.zeros((32, 32), np.uint8)
    with pytest.raises(errors.InvalidOptionError, match="compress='ZIP'"):
        write_cog(tmp_path / 'a.tif', data, compress='zip')
    with pytest.raises(ValueError, match='blocksize'):
        write_cog(tmp_path / 'a.tif', data, blocksize=100)
    with pytest.raises(ValueError, match='level'):
        write_cog(tmp_path / 'a.tif', data, compress='LZW', level=3)
    with pytest.raises(ValueError, match='level'):
        write_cog(tmp_path / 'a.tif', data, compress='ZSTD', level=40)
    with pytest.raises(ValueError, match='overviews'):
        write_cog(tmp_path / 'a.tif', data, overviews=-1)
    assert not list(tmp_path.iterdir())


def test_is_cog_distinguishes_plain_tiff(tmp_path):
    fpath = tmp_path / 'plain.tif'
    with rasterio.open(fpath, 'w', driver='GTiff', width=64, height=64, count=1, dtype='uint8') as dst:
        dst.write(np.zeros((1, 64, 64), np.uint8))
    assert not is_cog(fpath)
    with pytest.raises(errors.SourceNotFoundError):
        is_cog(tmp_path / 'missing.tif')
    (tmp_path / 'junk.tif').write_bytes(b'not a tiff at all')
    with pytest.raises(errors.ImageReadError):
        is_cog(tmp_path / 'junk.tif')


@pytest.mark.parametrize('compress,level', [('ZSTD', 1), ('DEFLATE', 1), ('ZSTD', 15)])
def test_write_cog_level_is_lossless(tmp_path, compress, level):
    data = np.random.default_rng(1).integers(0, 255, (200, 300, 3), dtype=np.uint8)
    fpath = write_cog(tmp_path / 'a.tif', data, compress=compress, level=level)
    with rasterio.open(fpath) as src:
        np.testing.assert_array_equal(src.read().transpose(1, 2, 0), data)


@pytest.mark.parametrize('compress', sorted(COG_LEVEL_RANGES))
def test_cog_level_ranges_are_the_accepted_levels(tmp_path, compress):
    lo, hi = COG_LEVEL_RANGES[compress]
    data = np.zeros((32, 32), np.uint8)
    for level in (lo, hi):
        write_cog(tmp_path / f'{level}.tif', data, compress=compress, level=level, overviews=0)
    for level in (lo - 1, hi + 1):
        with pytest.raises(errors.InvalidOptionError, match=f'level={level}'):
            write_cog(tmp_path / 'bad.tif', data, compress=compress, level=level)
