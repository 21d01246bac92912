"""Frames and readers as ndsampler 0.8.1's clients use them: cache_dpath, lazy load_image, SimpleFrames.demo,
TIFF page stacks (kwimage without GDAL), image sizes filled at sampler construction."""
import os

import kwcoco
import kwimage
import numpy as np
import pytest
import rasterio
import tifffile

from ndsampler.delayed.readers import RasterioReader, get_reader
from ndsampler.frames import CocoFrames, LazyRaster, SimpleFrames
from ndsampler.sampler import CocoSampler

BACKENDS = [None, 'npy', 'cog']


@pytest.fixture(scope='module')
def rgb(tmp_path_factory):
    """``(fpath, data)`` of a 40x50 RGB PNG of random bytes."""
    data = np.random.default_rng(0).integers(0, 255, (40, 50, 3), dtype=np.uint8)
    fpath = tmp_path_factory.mktemp('rgb') / 'rgb.png'
    kwimage.imwrite(fpath, data)
    return str(fpath), data


def test_cache_dpath_is_none_without_a_cache(rgb, tmp_path):
    """0.8.1 keeps its npy / cog files in ``_cache/frames/npy`` / ``_cache/frames/cog/<config hash>``; ours keep
    them in ``<backend>/<config hash>/`` inside one ``_cache/frames``."""
    assert SimpleFrames({1: rgb[0]}, workdir=tmp_path).cache_dpath is None
    for backend in ['npy', 'cog']:
        frames = SimpleFrames({1: rgb[0]}, workdir=tmp_path, backend=backend)
        assert frames.cache_dpath == os.path.join(str(tmp_path), '_cache', 'frames')
        frames.load_image(1)
        assert frames.cache_fpaths(1)[0].startswith(os.path.join(frames.cache_dpath, backend) + os.sep)


def test_load_image_returns_the_cache_file_unread(rgb, tmp_path, monkeypatch):
    fpath, data = rgb
    im = SimpleFrames({1: fpath}, workdir=tmp_path).load_image(1)
    assert type(im) is np.ndarray and np.array_equal(im, data)

    im = SimpleFrames({1: fpath}, workdir=tmp_path, backend='npy').load_image(1)
    assert isinstance(im, np.memmap) and im.shape == data.shape and im.dtype == data.dtype
    window = im[10:22, 5:9]
    assert isinstance(window, np.memmap) and np.shares_memory(window, im) and np.array_equal(window, data[10:22, 5:9])

    im = SimpleFrames({1: fpath}, workdir=tmp_path, backend='cog').load_image(1)
    assert isinstance(im, LazyRaster) and not isinstance(im, np.ndarray)
    assert (im.shape, im.dtype, im.ndim, len(im)) == (data.shape, data.dtype, 3, 40)
    reads = []
    real_read = RasterioReader._read

    def spy(self, sl_y, sl_x, overview, bands):
        reads.append((sl_y, sl_x, bands))
        return real_read(self, sl_y, sl_x, overview, bands)

    monkeypatch.setattr(RasterioReader, '_read', spy)
    assert np.array_equal(im[10:22, 5:9], data[10:22, 5:9])
    assert reads == [(slice(10, 22), slice(5, 9), None)]  # only the window is read
    assert np.array_equal(im[-3:, 7, 2], data[-3:, 7, 2]) and reads[-1] == (slice(37, 40), slice(7, 8), [2])
    assert np.array_equal(np.asarray(im), data) and reads[-1] == (slice(0, 40), slice(0, 50), None)


def test_load_image_reads_what_is_not_one_file_as_it_is(tmp_path):
    """Two assets, or a subset of the bands: the image is assembled and read (0.8.1 reads those too)."""
    rng = np.random.default_rng(1)
    dset = kwcoco.CocoDataset()
    assets = []
    for chans, bands in [('r|g', 2), ('b', 1)]:
        fpath = tmp_path / f'{bands}.tif'
        kwimage.imwrite(fpath, rng.integers(0, 255, (8, 9, bands), dtype=np.uint8))
        assets.append({'file_name': str(fpath), 'channels': chans, 'width': 9, 'height': 8})
    dset.add_image(name='x', width=9, height=8, auxiliary=assets)
    frames = CocoFrames(dset, workdir=tmp_path, backend='npy')
    both = frames.load_image(1)
    assert type(both) is np.ndarray and both.shape == (8, 9, 3)
    assert type(frames.load_image(1, channels='g')) is np.ndarray


def test_simple_frames_demo_is_kwcocos_default_demo(tmp_path):
    frames = SimpleFrames.demo(workdir=tmp_path, backend='npy')
    assert frames.image_ids == [1, 2, 3]
    assert isinstance(frames.load_image(1), np.memmap) and frames.load_image(1).shape == (512, 512, 3)
    assert frames.load_region(1, (slice(-20), slice(-10))).shape == (492, 502, 3)


@pytest.mark.parametrize('backend', BACKENDS)
@pytest.mark.parametrize('compression', [None, 'zlib'])
def test_tiff_page_stack_loads_as_its_image(tmp_path, backend, compression):
    """tifffile (kwimage without GDAL) writes a 2-band (H, W, 2) image as H pages of (W, 2); GDAL alone sees (W, 2)."""
    data = np.random.default_rng(2).integers(0, 60000, (6, 11, 2), dtype=np.uint16)
    fpath = tmp_path / 'stack.tif'
    tifffile.imwrite(fpath, data, compression=compression)
    with rasterio.open(fpath) as src:
        assert (src.count, src.height, src.width) == (1, 11, 2)
    frames = SimpleFrames({1: fpath}, workdir=tmp_path / 'work', backend=backend)
    assert frames.image_dsize(1) == (11, 6) and frames.image_channels(1).numel() == 2
    assert np.array_equal(np.asarray(frames.load_image(1)), data)
    assert np.array_equal(frames.load_region(1, (slice(1, 4), slice(3, 10)), channels='u.1'), data[1:4, 3:10, 1:2])


def test_other_multipage_tiffs_read_as_gdal_reads_them(tmp_path):
    """Pages without tifffile's shape record (a plain multi-page TIFF) are not a page stack: page 0, as GDAL sees it."""
    pages = np.random.default_rng(3).integers(0, 255, (3, 5, 7), dtype=np.uint8)
    fpath = tmp_path / 'pages.tif'
    with tifffile.TiffWriter(fpath) as tif:
        for page in pages:
            tif.write(page, metadata=None)
    reader = get_reader(fpath)
    assert reader.header().dsize == (7, 5) and reader.header().num_bands == 1
    assert np.array_equal(reader.read()[:, :, 0], pages[0])


@pytest.mark.parametrize('backend', BACKENDS)
def test_kwcoco_multisensor_demo_loads_as_written(tmp_path_factory, backend):
    """kwcoco's own demo writes its 2-band assets as page stacks; every backend reads them as kwimage does."""
    root = tmp_path_factory.getbasetemp() / 'compat_multisensor'
    dset = kwcoco.CocoDataset.demo('vidshapes1-msi-multisensor', dpath=root, verbose=0, num_frames=4, rng=14)
    frames = CocoFrames(dset, workdir=tmp_path_factory.mktemp('ms_work'), backend=backend)
    stacks = 0
    for gid, img in dset.imgs.items():
        for asset in img['auxiliary']:
            expected = kwimage.imread(os.path.join(dset.bundle_dpath, asset['file_name']))
            expected = expected.reshape(expected.shape[:2] + (-1,))
            if expected.shape[2] != 2:
                continue
            stacks += 1
            got = frames.load_delayed(gid, channels=asset['channels'])
            scale = kwimage.Affine.coerce(asset['warp_aux_to_img'])
            if scale.isclose_identity():
                assert np.array_equal(got.finalize(), expected)
            else:  # warped into image space: the asset's own pixels sit at its own size
                assert (asset['width'], asset['height']) == (expected.shape[1], expected.shape[0])
                assert got.finalize().shape[2] == 2
    assert stacks == 3


def test_sampler_fills_missing_image_sizes(tmp_path):
    """0.8.1 sizes images through kwcoco's _ensure_imgsize: images made only of assets stay unsized, and a
    page stack gets GDAL's (W, C) size. Ours read every size from the headers our readers use."""
    rng = np.random.default_rng(4)
    dset = kwcoco.CocoDataset()
    dset.add_category('thing')
    kwimage.imwrite(tmp_path / 'plain.png', rng.integers(0, 255, (12, 16, 3), dtype=np.uint8))
    tifffile.imwrite(tmp_path / 'stack.tif', rng.integers(0, 255, (10, 14, 2), dtype=np.uint8))
    kwimage.imwrite(tmp_path / 'half.tif', rng.integers(0, 255, (5, 7, 1), dtype=np.uint8))
    plain = dset.add_image(file_name=str(tmp_path / 'plain.png'))
    stack = dset.add_image(file_name=str(tmp_path / 'stack.tif'))
    assets = dset.add_image(name='assets', auxiliary=[
        {'file_name': str(tmp_path / 'half.tif'), 'channels': 'B1', 'warp_aux_to_img': {'scale': 2}}])
    dset.add_annotation(plain, category_id=1, bbox=[1.0, 1.0, 4.0, 4.0])
    sampler = CocoSampler(dset, workdir=tmp_path)
    sizes = {gid: (dset.imgs[gid]['width'], dset.imgs[gid]['height']) for gid in dset.imgs}
    assert sizes == {plain: (16, 12), stack: (14, 10), assets: (14, 10)}
    assert (dset.imgs[assets]['auxiliary'][0]['width'], dset.imgs[assets]['auxiliary'][0]['height']) == (7, 5)
    assert sampler.load_sample({'gid': stack})['im'].shape == (10, 14, 2)
    assert sampler.load_sample({'gid': plain})['annots']['aids'].tolist() == [1]


def test_sampler_construction_leaves_an_unreadable_image_unsized(tmp_path):
    """As kwcoco's _ensure_imgsize does: no error while building, the size stays missing."""
    dset = kwcoco.CocoDataset()
    gone = dset.add_image(file_name=str(tmp_path / 'missing.png'))
    CocoSampler(dset, workdir=tmp_path)
    assert 'width' not in dset.imgs[gone] and 'height' not in dset.imgs[gone]


def test_pathinfo_and_alignable_channels_as_0_8(tmp_path):
    """0.8.1's own tests read ``_backend``, ``_build_pathinfo`` and ``_load_alignable``: one record per asset,
    channels loaded at their own resolution or aligned to the image."""
    rng = np.random.default_rng(5)
    dset = kwcoco.CocoDataset()
    assets = []
    for chans, scale in [('B1', 1), ('B11', 3)]:
        fpath = tmp_path / f'{chans}.tif'
        kwimage.imwrite(fpath, rng.integers(0, 255, (30 // scale, 45 // scale, 1), dtype=np.uint8))
        assets.append({'file_name': fpath.name, 'channels': chans, 'warp_aux_to_img': {'scale': scale}})
    dset.add_image(name='x', width=45, height=30, auxiliary=assets)
    dset.fpath = str(tmp_path / 'data.kwcoco.json')
    frames = CocoFrames(dset, workdir=tmp_path, backend='npy')
    assert frames._backend == {'type': 'npy', 'config': {}}
    assert CocoFrames(dset)._backend['type'] is None
    pathinfo = frames._build_pathinfo(1)
    assert (pathinfo['id'], pathinfo['default'], pathinfo['width'], pathinfo['height']) == (1, None, 45, 30)
    b11 = pathinfo['channels']['B11']
    assert b11['file_name'] == 'B11.tif' and b11['path'] == str(tmp_path / 'B11.tif') and b11['cache_type'] == 'npy'
    assert kwimage.Affine.coerce(b11['warp_aux_to_img']).matrix[0][0] == 3 and b11['cache'].endswith('.npy')
    alignable = frames._load_alignable(1)
    native = alignable._load_native_channel('B11')
    assert isinstance(native, np.memmap) and native.shape == (10, 15, 1)
    assert os.path.exists(b11['cache'])
    fused = alignable._load_fused_region((slice(3, 12), slice(0, 9)), channels=['B1', 'B11'])
    assert fused.shape == (9, 9, 2)
    assert np.array_equal(fused[..., 0], np.asarray(frames.load_image(1, channels='B1'))[3:12, 0:9, 0])
    crop = alignable._load_prefused_region((slice(4, 10), slice(4, 10)), channels=['B11'])['subregions'][0]['im']
    assert crop.meta['transform'].matrix[0][0] == 3 and crop.meta['transform'].matrix[0][2] != 0
    with pytest.raises(KeyError, match='no default'):
        alignable._coerce_channels(None)
