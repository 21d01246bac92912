"""Cache files damaged after they validated: reads rebuild them once, sources are never touched."""
import os
from pathlib import Path

import numpy as np
import pytest
from frames_helpers import smooth_image, write_tif

from ndsampler.delayed.readers import get_reader
from ndsampler.errors import ImageReadError
from ndsampler.delayed import Padding
from ndsampler.frames import SimpleFrames, read_window
from ndsampler.io import write_cog
from tests.backends.conformance import zero_tile


@pytest.fixture
def cog_frames(tmp_path):
    """One 600x700 smooth source behind the cog backend, read once (its reader is pooled)."""
    data = smooth_image((600, 700, 3), 3)
    frames = SimpleFrames({1: write_tif(tmp_path / 'src.tif', data)}, workdir=tmp_path / 'work', backend='cog')
    np.testing.assert_array_equal(frames.load_region(1, (slice(0, 8), slice(0, 8))), data[:8, :8])
    (cache,) = frames.cache_fpaths(1)
    return frames, data, cache


def test_damaged_tile_is_rebuilt_on_read(cog_frames):
    frames, data, cache = cog_frames
    zero_tile(cache)
    assert frames.status() == {1: 'cached'}, 'a middle tile is beyond the cheap check'
    window = (slice(250, 300), slice(250, 300))
    np.testing.assert_array_equal(frames.load_region(1, window), data[window])
    np.testing.assert_array_equal(frames.load_image(1), data)
    assert frames.backend.validate(cache, 'deep')
    assert not list(Path(cache).parent.glob('.*')), 'no temporary files left'


def test_sampler_style_reads_call_repair(cog_frames):
    frames, data, cache = cog_frames
    tree = frames.load_delayed(1)
    zero_tile(cache, tile=(2, 2))
    with pytest.raises(ImageReadError, match=os.path.basename(cache)):
        tree.finalize()
    assert frames.repair(1) == [cache]
    np.testing.assert_array_equal(tree.finalize(), data)
    assert frames.repair(1) == [], 'an intact frame is left alone'


def test_read_window_repairs_and_retries_once(cog_frames, monkeypatch):
    frames, data, cache = cog_frames
    repair, repaired = frames.repair, []
    monkeypatch.setattr(frames, 'repair', lambda gid: repaired.extend(repair(gid)))
    zero_tile(cache, tile=(1, 0))
    window = (slice(180, 300), slice(-10, 300))  # four tiles (one damaged), padding beyond the left edge
    got = read_window(frames, 1, window, padding=Padding('edge'))
    want = np.pad(data[180:300, 0:300], [(0, 0), (10, 0), (0, 0)], mode='edge')
    np.testing.assert_array_equal(got, want)
    assert repaired == [cache] and frames.backend.validate(cache, 'deep')


def test_with_repair_over_several_images_names_them_all(tmp_path, monkeypatch):
    sources = {gid: write_tif(tmp_path / f'src{gid}.tif', smooth_image((300, 300, 1), gid)) for gid in (1, 2)}
    frames = SimpleFrames(sources, workdir=tmp_path / 'work', backend='cog')
    caches = [frames.cache_fpaths(gid)[0] for gid in (1, 2)]
    for gid in (1, 2):
        frames.load_region(gid, (slice(0, 4), slice(0, 4)))
    repaired = []
    monkeypatch.setattr(frames, 'repair', lambda gid: repaired.append(gid) or [])
    calls = []

    def read():
        calls.append(1)
        raise ImageReadError('damaged')

    with pytest.raises(ImageReadError, match='images \\[1, 2\\] are unreadable even after rebuilding') as info:
        frames.with_repair([1, None, 2, 1], read)
    assert repaired == [1, 2] and len(calls) == 2
    assert all(cache in str(info.value) for cache in caches)


def test_damage_at_the_ends_is_seen_by_status_and_prepare(cog_frames):
    frames, data, cache = cog_frames
    zero_tile(cache, level=2, tile=(0, 0))  # the smallest overview
    assert frames.status() == {1: 'corrupt'}
    assert frames.prepare(progress=False).converted == [1]
    assert frames.status() == {1: 'cached'}
    np.testing.assert_array_equal(frames.load_image(1), data)


def test_deep_status_and_prepare_find_a_damaged_middle_tile(cog_frames):
    frames, data, cache = cog_frames
    zero_tile(cache)
    assert frames.status() == {1: 'cached'} and frames.prepare(progress=False).converted == []
    assert frames.status(deep=True) == {1: 'corrupt'}
    assert frames.prepare(progress=False, deep=True, workers=1).converted == [1]
    assert frames.status(deep=True) == {1: 'cached'}
    np.testing.assert_array_equal(frames.load_image(1), data)


def test_second_failure_names_source_and_cache(cog_frames, monkeypatch):
    frames, _, cache = cog_frames
    zero_tile(cache)
    monkeypatch.setattr(frames.backend, 'validate', lambda fpath, check='sample': True)  # the rebuild "misses" it
    with pytest.raises(ImageReadError, match='even after rebuilding') as info:
        frames.load_region(1)  # load_image(1) of a COG cache returns it unread
    assert frames.id_to_path[1] in str(info.value) and cache in str(info.value)


def test_unrebuildable_cache_names_source_and_cache(cog_frames):
    frames, _, cache = cog_frames
    zero_tile(cache)
    os.unlink(frames.id_to_path[1])
    with pytest.raises(ImageReadError, match='cannot be rebuilt|changed and its new version') as info:
        frames.load_region(1)
    assert frames.id_to_path[1] in str(info.value) and cache in str(info.value)
    assert not os.path.exists(cache), 'a damaged frame is removed, never served again'


def test_damaged_source_is_never_rewritten(tmp_path):
    data = smooth_image((600, 700, 3), 4)
    src = write_cog(tmp_path / 'src.tif', data)  # read in place by the None backend
    frames = SimpleFrames({1: src}, backend=None)
    get_reader(str(src)).close()
    zero_tile(src)
    before = src.read_bytes()
    with pytest.raises(ImageReadError, match='src.tif'):
        frames.load_image(1)
    assert frames.repair(1) == []
    assert src.read_bytes() == before
