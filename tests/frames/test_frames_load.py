"""Loading kwcoco images through every backend: pixels, regions, channels, warps, quantization, fork, pickle."""
import copy
import multiprocessing
import os
import pathlib
import pickle

import kwcoco
import kwimage
import numpy as np
import pytest
import rasterio
from frames_helpers import BACKEND_SPECS, smooth_image, write_tif

from ndsampler.errors import UnknownIdError
from ndsampler.frames import CocoFrames, SimpleFrames


@pytest.mark.parametrize('backend', BACKEND_SPECS)
def test_shapes_equal_source_pixels(shapes_dset, tmp_path, backend):
    frames = CocoFrames(shapes_dset, workdir=tmp_path, backend=backend)
    for gid in frames.image_ids:
        expected = kwimage.imread(shapes_dset.get_image_fpath(gid))
        got = frames.load_image(gid)
        np.testing.assert_array_equal(got, expected)
        assert frames.image_channels(gid).as_list() == ['r', 'g', 'b']
        assert frames.image_dsize(gid) == (expected.shape[1], expected.shape[0])
        window = (slice(10, 40), slice(20, 90))
        np.testing.assert_array_equal(frames.load_region(gid, window), expected[window])
        np.testing.assert_array_equal(frames.load_region(gid, window, channels='b|r'), expected[window][..., [2, 0]])


@pytest.mark.parametrize('backend', BACKEND_SPECS)
def test_multispectral_assets_align(msi_dset, tmp_path, backend):
    frames = CocoFrames(msi_dset, workdir=tmp_path, backend=backend)
    direct = CocoFrames(msi_dset, backend=None)
    for gid in frames.image_ids[:4]:
        img = msi_dset.imgs[gid]
        full = frames.load_image(gid)
        assert full.shape == (img['height'], img['width'], len(img['auxiliary']))
        np.testing.assert_array_equal(full, direct.load_image(gid))
        np.testing.assert_array_equal(full, frames.load_image(gid, cache=False))
        names = frames.image_channels(gid).as_list()
        for aux in img['auxiliary']:
            if aux['width'] == img['width']:  # aligned band: exactly the source pixels
                with rasterio.open(msi_dset.get_image_fpath(gid, channels=aux['channels'])) as src:
                    band = src.read(1)
                np.testing.assert_array_equal(full[..., names.index(aux['channels'])], band)
        region = frames.load_region(gid, (slice(12, 60), slice(30, 90)), channels='B8|B1|nothere')
        assert region.shape == (48, 60, 3)
        np.testing.assert_allclose(region[..., 1], full[12:60, 30:90, names.index('B1')])
        assert np.isnan(region[..., 2]).all()


def test_only_needed_assets_are_converted(msi_dset, tmp_path):
    frames = CocoFrames(msi_dset, workdir=tmp_path, backend='cog')
    gid = frames.image_ids[0]
    frames.load_region(gid, (slice(0, 8), slice(0, 8)), channels='B1')
    converted = [pathlib.Path(f).exists() for f in frames.cache_fpaths(gid)]
    assert sum(converted) == 1
    assert np.isnan(frames.load_image(gid, channels='nothere')).all()


def test_load_delayed_is_built_once(shapes_dset, tmp_path):
    frames = CocoFrames(shapes_dset, workdir=tmp_path, backend='npy')
    assert frames.load_delayed(1) is frames.load_delayed(1)
    assert frames.load_delayed(1, 'r') is not frames.load_delayed(1)
    assert frames.load_delayed(1).dsize == frames.image_dsize(1)
    with pytest.raises(UnknownIdError, match='12345'):
        frames.load_delayed(12345)


def _custom_dset(tmp_path):
    """Images with a pathlib file_name, no channels, new-style assets and a quantized asset."""
    quant = smooth_image((40, 50, 1), 3)
    quant[0, :5] = 255
    write_tif(tmp_path / 'q.tif', quant)
    write_tif(tmp_path / 'rgb.tif', smooth_image((40, 50, 3), 4))
    dset = kwcoco.CocoDataset()
    dset.fpath = str(tmp_path / 'data.kwcoco.json')
    dset.add_image(id=1, file_name='rgb.tif', width=50, height=40)
    dset.imgs[1]['file_name'] = pathlib.Path('rgb.tif')
    dset.add_image(id=2, name='two', width=50, height=40, file_name=None, assets=[
        {'file_name': 'rgb.tif', 'channels': 'r|g|b', 'width': 50, 'height': 40},
        {'file_name': 'q.tif', 'channels': 'depth', 'width': 50, 'height': 40,
         'quantization': {'orig_min': 0.0, 'orig_max': 1.0, 'quant_min': 0, 'quant_max': 254, 'nodata': 255}}])
    return dset, quant


@pytest.mark.parametrize('backend', ['cog', 'npy'])
def test_unnamed_bands_assets_and_quantization(tmp_path, backend):
    dset, quant = _custom_dset(tmp_path)
    frames = CocoFrames(dset, workdir=tmp_path / 'work', backend=backend)
    assert frames.image_channels(1).numel() == 3
    np.testing.assert_array_equal(frames.load_image(1), smooth_image((40, 50, 3), 4))
    depth = frames.load_region(2, channels='depth')[..., 0]
    assert np.isnan(depth[0, :5]).all()
    np.testing.assert_allclose(depth[1:], quant[1:, :, 0] / 254.0, rtol=1e-6)


def _load_in_child(frames, queue):
    queue.put(frames.load_region(1, (slice(5, 30), slice(5, 30))))


@pytest.mark.parametrize('backend', ['cog', 'npy'])
def test_fork_and_pickle_round_trips(shapes_dset, tmp_path, backend):
    frames = CocoFrames(shapes_dset, workdir=tmp_path, backend=backend)
    expected = frames.load_region(1, (slice(5, 30), slice(5, 30)))  # handles now open in the parent
    clone = pickle.loads(pickle.dumps(frames))
    np.testing.assert_array_equal(clone.load_region(1, (slice(5, 30), slice(5, 30))), expected)
    ctx = multiprocessing.get_context('fork')
    queue = ctx.Queue()
    proc = ctx.Process(target=_load_in_child, args=(frames, queue))
    proc.start()
    got = queue.get(timeout=60)
    proc.join(60)
    np.testing.assert_array_equal(got, expected)


def test_edit_in_place_serves_new_pixels(tmp_path):
    src = write_tif(tmp_path / 'a.tif', smooth_image((30, 40, 3), 1))
    frames = SimpleFrames({1: src}, workdir=tmp_path / 'w', backend='cog')
    frames.load_image(1)
    new = smooth_image((30, 40, 3), 9)
    write_tif(src, new)
    st = src.stat()
    os.utime(src, ns=(st.st_atime_ns, st.st_mtime_ns + 10 ** 10))
    assert SimpleFrames({1: src}, workdir=tmp_path / 'w', backend='cog').status()[1] == 'stale'
    frames.invalidate(1)
    np.testing.assert_array_equal(frames.load_image(1), new)
    fresh = copy.deepcopy(frames)
    np.testing.assert_array_equal(fresh.load_image(1), new)
