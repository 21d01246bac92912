"""A source rewritten in place is never served stale: not by a new sampler, not by one built before the edit,
in this process or another."""
import os
import subprocess
import sys
from pathlib import Path

import cv2
import kwcoco
import numpy as np
import pytest
from frames_helpers import write_tif

from ndsampler import CocoSampler
from ndsampler.errors import StaleFrameError
from ndsampler.frames import SimpleFrames

SHAPE = (48, 64, 3)
WINDOW = {'gid': 1, 'slices': (slice(0, SHAPE[0]), slice(0, SHAPE[1]))}
REPO = Path(__file__).resolve().parents[2]

#: Run in another process: rewrite the PNG (seed 2) in place, then read it through a sampler of its own.
CHILD = '''
import sys, numpy as np
sys.path.insert(0, {tests!r})
from test_frames_stale import make_dset, rewrite
from ndsampler import CocoSampler
src, workdir, backend, out = sys.argv[1:]
rewrite(src, seed=2)
sampler = CocoSampler(make_dset(src), workdir=workdir, backend=None if backend == 'None' else backend)
np.save(out, sampler.load_sample({{'gid': 1, 'slices': (slice(0, 48), slice(0, 64))}})['im'])
'''


def pixels(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, SHAPE, dtype=np.uint8)


def bump_mtime(src, seconds: int) -> None:
    """Move the mtime on, so an edit shows whatever the filesystem's clock granularity."""
    stat = os.stat(src)
    os.utime(src, ns=(stat.st_atime_ns, stat.st_mtime_ns + seconds * 10 ** 9))


def rewrite(src, seed: int) -> np.ndarray:
    """Write the PNG in place (same inode, as an editor that rewrites the file does)."""
    data = pixels(seed)
    with open(src, 'r+b') as file:
        ok, png = cv2.imencode('.png', data[:, :, ::-1])
        assert ok
        file.write(png.tobytes())
        file.truncate()
    bump_mtime(src, seed)
    return data


def make_dset(src) -> kwcoco.CocoDataset:
    dset = kwcoco.CocoDataset()
    dset.add_category('thing')
    dset.add_image(file_name=str(src), width=SHAPE[1], height=SHAPE[0])
    return dset


def _im(sampler):
    return sampler.load_sample(WINDOW, with_annots=False)['im']


@pytest.fixture(params=['npy', 'cog', None])
def setup(request, tmp_path):
    src = tmp_path / 'a.png'
    src.write_bytes(b'')
    old = rewrite(src, seed=1)
    sampler = CocoSampler(make_dset(src), workdir=tmp_path / 'work', backend=request.param)
    np.testing.assert_array_equal(_im(sampler), old)
    return sampler, src, request.param, old


def test_edit_in_this_process(setup):
    sampler, src, backend, old = setup
    other = CocoSampler(make_dset(src), workdir=sampler.workdir, backend=backend)
    np.testing.assert_array_equal(_im(other), old)
    new = rewrite(src, seed=2)
    fresh = CocoSampler(make_dset(src), workdir=sampler.workdir, backend=backend)
    np.testing.assert_array_equal(_im(fresh), new)  # a new sampler sees the current version
    np.testing.assert_array_equal(_im(sampler), new)  # existing ones notice on their next read
    np.testing.assert_array_equal(sampler.frames.load_region(1), new)
    np.testing.assert_array_equal(other.frames.load_region(1, (slice(0, 10), slice(5, 20))), new[:10, 5:20])
    if backend is not None:
        (cache,) = sampler.frames.cache_fpaths(1)
        assert sampler.frames.status() == {1: 'cached'} and os.path.exists(cache)


def test_edit_by_another_process(setup, tmp_path):
    """The child rewrites the source and reads it through its own sampler; this process's
    sampler, built before the edit, reads the new pixels too."""
    sampler, src, backend, old = setup
    out = tmp_path / 'child.npy'
    code = CHILD.format(tests=str(REPO / 'tests' / 'frames'))
    env = {**os.environ, 'PYTHONPATH': os.pathsep.join([str(REPO), os.environ.get('PYTHONPATH', '')])}
    subprocess.run([sys.executable, '-c', code, str(src), str(sampler.workdir), str(backend), str(out)],
                   check=True, timeout=120, env=env, cwd=tmp_path)
    new = pixels(2)
    np.testing.assert_array_equal(np.load(out), new)
    np.testing.assert_array_equal(_im(sampler), new)


@pytest.mark.parametrize('backend', ['npy', 'cog'])
def test_a_held_tree_raises_instead_of_reading_the_old_frame(tmp_path, backend):
    src = write_tif(tmp_path / 'a.tif', pixels(1))
    frames = SimpleFrames({1: src}, workdir=tmp_path / 'work', backend=backend)
    tree = frames.load_delayed(1)
    np.testing.assert_array_equal(tree.finalize(), pixels(1))
    write_tif(src, pixels(3))
    bump_mtime(src, 3)
    with pytest.raises(StaleFrameError, match='a.tif changed'):
        tree.finalize()
    assert frames.repair(1) == frames.cache_fpaths(1), 'the frame of the current version is made'
    np.testing.assert_array_equal(frames.load_delayed(1).finalize(), pixels(3))


def test_pixels_mode_keeps_a_touched_frame_and_rebuilds_an_edited_one(tmp_path):
    src = write_tif(tmp_path / 'a.tif', pixels(1))
    frames = SimpleFrames({1: src}, workdir=tmp_path / 'work', backend='npy', hashid_mode='PIXELS')
    np.testing.assert_array_equal(frames.load_region(1), pixels(1))
    (cache,) = frames.cache_fpaths(1)
    bump_mtime(src, 1)  # touched: same content
    np.testing.assert_array_equal(frames.load_region(1), pixels(1))
    assert frames.cache_fpaths(1) == [cache]
    write_tif(src, pixels(2))
    bump_mtime(src, 2)
    np.testing.assert_array_equal(frames.load_region(1), pixels(2))
    assert frames.cache_fpaths(1) != [cache]


@pytest.mark.parametrize('backend', ['npy', 'cog'])
def test_load_image_of_an_edited_source_is_its_new_version(tmp_path, backend):
    """``load_image`` hands out the cache file unread (a memmap / LazyRaster): that of the current version."""
    src = write_tif(tmp_path / 'a.tif', pixels(1))
    frames = SimpleFrames({1: src}, workdir=tmp_path / 'work', backend=backend)
    np.testing.assert_array_equal(np.asarray(frames.load_image(1)), pixels(1))
    write_tif(src, pixels(2))
    bump_mtime(src, 2)
    np.testing.assert_array_equal(np.asarray(frames.load_image(1)), pixels(2))
