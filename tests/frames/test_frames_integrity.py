"""Damaged bytes inside a cache frame that still decode: checksums find them, reads rebuild the frame."""
import json
import os
import shutil

import cv2
import kwcoco
import numpy as np
import pytest

from ndsampler import CocoSampler
from ndsampler.backends._checksums import sidecar_fpath
from ndsampler.delayed.readers import ReaderPool
from ndsampler.frames import SimpleFrames

SHAPE = (600, 700, 3)
FAR = (slice(0, 64), slice(0, 64))  # the first tile / row block
DAMAGED = (slice(256, 512), slice(256, 512))  # the damaged tile (1, 1) / crosses row block 2


def _noise_png(fpath, seed=0):
    """Noise (ZSTD stores such COG tiles raw, so damaged bytes decode to wrong pixels without an error)."""
    data = np.random.default_rng(seed).integers(0, 256, SHAPE, dtype=np.uint8)
    cv2.imwrite(str(fpath), data[:, :, ::-1])
    return data


def _damage(cache, backend):
    """Overwrite bytes inside the frame's block that holds pixel (300, 300), as the issue did."""
    with open(sidecar_fpath(cache)) as file:
        level = json.load(file)['levels'][0]
    tile_h, tile_w = level['tile']
    block = (300 // tile_h) * level['grid'][1] + 300 // tile_w
    offset, size = level['ranges'][block][0]
    with open(cache, 'r+b') as file:
        file.seek(offset + size // 2)
        file.write(b'\xff' * 16 if backend == 'cog' else bytes(4096))  # npy: a zeroed region


@pytest.fixture(params=['cog', 'npy'])
def sampler(request, tmp_path):
    data = _noise_png(tmp_path / 'a.png')
    dset = kwcoco.CocoDataset()
    dset.add_image(file_name=str(tmp_path / 'a.png'), width=SHAPE[1], height=SHAPE[0])
    sampler = CocoSampler(dset, workdir=tmp_path / 'work', backend=request.param)
    assert sampler.frames.prepare(progress=False).ok
    np.testing.assert_array_equal(sampler.load_sample({'gid': 1, 'slices': FAR})['im'], data[FAR])
    (cache,) = sampler.frames.cache_fpaths(1)
    _damage(cache, request.param)
    return sampler, data, cache


def _window(sampler, window):
    return sampler.load_sample({'gid': 1, 'slices': window}, with_annots=False)['im']


def test_damage_that_decodes_is_reported_by_deep_status(sampler):
    sampler, data, cache = sampler
    frames = sampler.frames
    unchecked = ReaderPool().get(cache).read(DAMAGED)  # a read without the frame's verifier
    assert not np.array_equal(unchecked, data[DAMAGED]), 'the damage is silent without checksums'
    assert frames.status() == {1: 'cached'}, "the 'sample' check verifies only the ends of the frame"
    assert frames.status(deep=True) == {1: 'corrupt'}


def test_sampler_read_rebuilds_the_damaged_frame(sampler):
    sampler, data, cache = sampler
    mtime = os.stat(cache).st_mtime_ns
    np.testing.assert_array_equal(_window(sampler, DAMAGED), data[DAMAGED])
    assert os.stat(cache).st_mtime_ns != mtime, 'rebuilt on the first read of the damaged block'
    assert sampler.frames.status(deep=True) == {1: 'cached'}
    np.testing.assert_array_equal(_window(sampler, (slice(0, SHAPE[0]), slice(0, SHAPE[1]))), data)


def test_repair_and_prepare_deep_fix_it(sampler):
    sampler, data, cache = sampler
    frames = sampler.frames
    assert frames.prepare(progress=False).converted == [], "the 'sample' check passes it"
    assert frames.repair(1) == [cache]
    assert frames.status(deep=True) == {1: 'cached'} and frames.repair(1) == []
    np.testing.assert_array_equal(_window(sampler, DAMAGED), data[DAMAGED])
    _damage(cache, frames.backend.name)
    assert frames.prepare(progress=False, deep=True).converted == [1]
    np.testing.assert_array_equal(frames.load_region(1, DAMAGED), data[DAMAGED])


def test_frames_read_of_a_frame_without_checksums_rebuilds_it(tmp_path):
    data = _noise_png(tmp_path / 'a.png')
    frames = SimpleFrames({1: tmp_path / 'a.png'}, workdir=tmp_path / 'work', backend='npy')
    frames.prepare(progress=False)
    (cache,) = frames.cache_fpaths(1)
    os.unlink(sidecar_fpath(cache))
    assert frames.status() == {1: 'corrupt'}
    np.testing.assert_array_equal(frames.load_region(1, DAMAGED), data[DAMAGED])
    assert os.path.exists(sidecar_fpath(cache)) and frames.status(deep=True) == {1: 'cached'}


@pytest.mark.parametrize('backend', ['cog', 'npy'])
def test_frame_replaced_by_another_process_is_reopened_not_misverified(tmp_path, backend):
    """This process holds the frame open; its bytes get damaged and another process then replaces the
    file with a good copy. The checksums of the new file must not vouch for the old bytes still open here."""
    data = _noise_png(tmp_path / 'a.png')
    frames = SimpleFrames({1: tmp_path / 'a.png'}, workdir=tmp_path / 'work', backend=backend)
    np.testing.assert_array_equal(frames.load_region(1, FAR), data[FAR])  # opened, first block verified
    (cache,) = frames.cache_fpaths(1)
    good = tmp_path / 'good.copy'
    shutil.copyfile(cache, good)
    _damage(cache, backend)  # the inode this process has open
    os.replace(good, cache)  # the other process's rebuild: same bytes as before the damage, a new inode
    np.testing.assert_array_equal(frames.load_region(1, DAMAGED), data[DAMAGED])
