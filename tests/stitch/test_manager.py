"""CocoStitchingManager: assets written, registered and readable; readiness; writer queue; bad input."""
import concurrent.futures
import json

import kwcoco
import kwimage
import numpy as np
import pytest
import rasterio

from ndsampler.errors import InvalidOptionError, StitchingError, UnknownIdError
from ndsampler.stitch import CocoStitchingManager, dequantize


def _make_dataset(tmp_path, sizes=((80, 96), (64, 48)), video_scale=None):
    """Images with random uint8 RGB pixels; optionally one video whose space is ``video_scale`` x images."""
    dset = kwcoco.CocoDataset()
    dset.fpath = str(tmp_path / 'data.kwcoco.json')
    rng = np.random.default_rng(0)
    vidid = None
    if video_scale is not None:
        h, w = sizes[0]
        vidid = dset.add_video(name='vid', width=w * video_scale, height=h * video_scale)
    for idx, (h, w) in enumerate(sizes):
        imdata = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        fpath = tmp_path / f'img{idx}.png'
        kwimage.imwrite(fpath, imdata)
        extra = {} if vidid is None else {'video_id': vidid, 'frame_index': idx,
                                          'warp_img_to_vid': {'type': 'affine', 'scale': video_scale}}
        dset.add_image(file_name=fpath.name, name=f'img{idx}', width=w, height=h, channels='r|g|b', **extra)
    return dset


def _image(dset, gid):
    return kwimage.imread(dset.get_image_fpath(gid)).astype(np.float32)


def _grid(h, w, win, step):
    """Windows of ``win`` px every ``step`` px; the last ones extend past the image (padded, not shifted)."""
    ys = range(0, max(h - win, 0) + step, step)
    xs = range(0, max(w - win, 0) + step, step)
    return [(slice(y, y + win), slice(x, x + win)) for y in ys for x in xs]


def _padded_window(imdata, sl):
    """The identity model: the window's pixels, NaN where it leaves the image."""
    out = np.full((sl[0].stop - sl[0].start, sl[1].stop - sl[1].start) + imdata.shape[2:], np.nan, np.float32)
    part = imdata[sl]
    out[:part.shape[0], :part.shape[1]] = part
    return out


def _read_asset(dset, asset):
    with rasterio.open(f"{dset.bundle_dpath}/{asset['file_name']}") as src:
        return src.read().transpose(1, 2, 0)


def _read_in_image_space(dset, gid, asset):
    """Apply the registration by hand: read, dequantize, warp by ``warp_aux_to_img`` (nearest)."""
    data = _read_asset(dset, asset)
    if 'quantization' in asset:
        data = dequantize(data, asset['quantization'])
    img = dset.imgs[gid]
    warp = kwimage.Affine.coerce(asset['warp_aux_to_img'])
    out = kwimage.warp_affine(data, warp, dsize=(img['width'], img['height']), interpolation='nearest',
                               origin_convention='corner')
    return out if out.ndim == 3 else out[..., None]


@pytest.mark.parametrize('quantize', [False, True])
def test_identity_round_trip_through_written_cog(tmp_path, quantize):
    dset = _make_dataset(tmp_path)
    mgr = CocoStitchingManager(dset, 'ident', 'pr|pg|pb', quantize=quantize, prob_blocksize=32)
    for gid in dset.imgs:
        imdata = _image(dset, gid)
        windows = _grid(*imdata.shape[:2], win=32, step=24)
        mgr.register_expected(gid, len(windows))
        for sl in windows:
            mgr.accumulate_image(gid, sl, _padded_window(imdata, sl))
        assert mgr.ready_image_ids() == [gid]
        info = mgr.finalize_image(gid)
        asset = info['asset']
        assert info['fpath'].exists() and asset['channels'] == 'pr|pg|pb'
        assert (asset['height'], asset['width']) == imdata.shape[:2]
        assert kwimage.Affine.coerce(asset['warp_aux_to_img']).isclose_identity()
        raw = _read_asset(dset, asset)
        if quantize:
            q = asset['quantization']
            assert raw.dtype == np.int16 and set(q) >= {'orig_min', 'orig_max', 'quant_min', 'quant_max', 'nodata'}
            step = (q['orig_max'] - q['orig_min']) / (q['quant_max'] - q['quant_min'])
            assert np.abs(dequantize(raw, q) - imdata).max() <= step
        else:
            assert raw.dtype == np.float32
            np.testing.assert_array_equal(raw, imdata)
    assert mgr.managed_image_ids() == [] and mgr.seen_image_ids == set(dset.imgs)
    # the registration (warp, quantization) brings the asset back onto the image
    for gid in dset.imgs:
        back = _read_in_image_space(dset, gid, dset.imgs[gid]['assets'][0])
        tol = 255 / 32767 if quantize else 0
        np.testing.assert_allclose(back, _image(dset, gid), atol=tol + 1e-4)


def test_half_scale_output_registers_warp(tmp_path):
    dset = _make_dataset(tmp_path, sizes=((64, 96),))
    gid = 1
    imdata = _image(dset, gid)
    small = kwimage.imresize(imdata, scale=0.5, interpolation='area')
    mgr = CocoStitchingManager(dset, 'half', 'pr|pg|pb', quantize=False)
    for sl in _grid(64, 96, win=32, step=16):
        asset_sl = tuple(slice(s.start // 2, s.stop // 2) for s in sl)
        window = _padded_window(imdata, sl)
        out = kwimage.imresize(np.nan_to_num(window), scale=0.5, interpolation='area')
        mgr.accumulate_image(gid, asset_sl, out, scale_asset_from_stitchspace=0.5, downweight_edges=True)
    asset = mgr.finalize_image(gid)['asset']
    assert (asset['width'], asset['height']) == (48, 32)
    np.testing.assert_allclose(kwimage.Affine.coerce(asset['warp_aux_to_img']).matrix,
                               kwimage.Affine.scale(2).matrix)
    np.testing.assert_allclose(_read_asset(dset, asset), small, rtol=1e-5, atol=1e-3)
    back = _read_in_image_space(dset, gid, asset)
    assert back.shape == imdata.shape
    np.testing.assert_allclose(back, np.repeat(np.repeat(small, 2, axis=0), 2, axis=1), atol=1e-3)


def test_video_space_with_scale(tmp_path):
    dset = _make_dataset(tmp_path, sizes=((16, 24), (16, 24)), video_scale=2)
    mgr = CocoStitchingManager(dset, 'vid', 'score', stitching_space='video', quantize=False)
    for gid in dset.imgs:
        # video space is 32 x 48; stitch at 0.5 of it = image resolution
        mgr.accumulate_image(gid, None, np.full((16, 24), float(gid)), scale_asset_from_stitchspace=0.5)
        asset = mgr.finalize_image(gid)['asset']
        assert (asset['width'], asset['height']) == (24, 16)
        assert kwimage.Affine.coerce(asset['warp_aux_to_img']).isclose_identity()
        np.testing.assert_array_equal(_read_asset(dset, asset)[..., 0], float(gid))


def test_png_format_and_channel_order(tmp_path):
    dset = _make_dataset(tmp_path, sizes=((16, 16),))
    imdata = _image(dset, 1)
    mgr = CocoStitchingManager(dset, 'png', 'r|g|b', prob_format='png', expected_minmax=(0, 255))
    mgr.accumulate_image(1, None, imdata)
    asset = mgr.finalize_image(1)['asset']
    assert asset['file_name'].endswith('.png') and asset['quantization']['quant_max'] == 255
    back = dequantize(kwimage.imread(f"{dset.bundle_dpath}/{asset['file_name']}"), asset['quantization'])
    assert np.abs(back - imdata).max() <= 0.5 + 1e-3
    mgr2 = CocoStitchingManager(dset, 'png2', 'a|b', prob_format='png')
    mgr2.accumulate_image(1, None, np.zeros((16, 16, 2)))
    with pytest.raises(StitchingError, match='1, 3 or 4 bands'):
        mgr2.finalize_image(1)
    with pytest.raises(InvalidOptionError):
        CocoStitchingManager(dset, 'png3', 'a', prob_format='png', quantize=False)


def test_tif_format_without_overviews_records_tags(tmp_path):
    dset = _make_dataset(tmp_path, sizes=((300, 300),))
    mgr = CocoStitchingManager(dset, 'tif', 'a|b', prob_format='tif', prob_compress='LZW')
    mgr.accumulate_image(1, None, np.random.default_rng(3).random((300, 300, 2)))
    fpath = mgr.finalize_image(1)['fpath']
    with rasterio.open(fpath) as src:
        assert src.overviews(1) == [] and src.count == 2 and src.dtypes[0] == 'int16'
        tags = src.tags()
        assert tags['channels'] == 'a|b' and json.loads(tags['quantization'])['quant_max'] == 32767


def test_readiness_from_a_grid_and_counts(tmp_path):
    dset = _make_dataset(tmp_path)
    mgr = CocoStitchingManager(dset, 'ready', 'x', write_probs=False)
    grid = {'targets': [{'gid': 1}, {'gid': 1}, {'image_id': 2}, {'gids': [1, 2]}]}
    mgr.register_grid(grid)
    for _ in range(2):
        mgr.accumulate_image(1, (slice(0, 4), slice(0, 4)), np.ones((4, 4)))
    mgr.accumulate_image(2, (slice(0, 4), slice(0, 4)), np.ones((4, 4)))
    assert mgr.ready_image_ids() == [] and sorted(mgr.managed_image_ids()) == [1, 2]
    mgr.accumulate_image(1, (slice(0, 4), slice(0, 4)), np.ones((4, 4)))
    assert mgr.ready_image_ids() == [1] and mgr.window_count(1) == 3
    mgr.accumulate_image(2, (slice(0, 4), slice(0, 4)), np.ones((4, 4)))
    assert sorted(mgr.ready_image_ids()) == [1, 2]
    info = mgr.finalize_image(1)
    assert info['asset'] is None and info['data'].shape == (80, 96, 1)
    assert np.isnan(info['data'][5:]).all() and (info['data'][:4, :4] == 1).all()
    assert mgr.ready_image_ids() == [2] and 'assets' not in dset.imgs[1]


@pytest.mark.parametrize('executor', [None, 'threads'])
def test_background_writer_and_flush(tmp_path, executor):
    dset = _make_dataset(tmp_path)
    pool = concurrent.futures.ThreadPoolExecutor(2) if executor else None
    mgr = CocoStitchingManager(dset, 'bg', 'x', writer_queue=pool)
    for gid in dset.imgs:
        mgr.accumulate_image(gid, None, np.full((dset.imgs[gid]['height'], dset.imgs[gid]['width']), 0.5))
        mgr.submit_finalize_image(gid)
    infos = mgr.flush_images()
    assert sorted(i['gid'] for i in infos) == [1, 2]
    assert all(len(dset.imgs[g]['assets']) == 1 for g in dset.imgs)
    # a writer error (the asset already exists) surfaces on flush
    mgr2 = CocoStitchingManager(dset, 'bg', 'x', writer_queue=pool)
    mgr2.accumulate_image(1, None, np.zeros((80, 96)))
    mgr2.submit_finalize_image(1)
    with pytest.raises(StitchingError, match='already exists'):
        mgr2.flush_images()
    if pool:
        pool.shutdown()


def test_existing_asset_needs_overwrite(tmp_path):
    dset = _make_dataset(tmp_path)
    for value, overwrite in [(1.0, False), (2.0, False), (3.0, True)]:
        mgr = CocoStitchingManager(dset, 'ow', 'x', quantize=False, overwrite=overwrite)
        mgr.accumulate_image(1, None, np.full((80, 96), value))
        if value == 2.0:
            with pytest.raises(StitchingError, match='overwrite=True'):
                mgr.finalize_image(1)
            assert mgr.managed_image_ids() == [1]  # the canvas survives the refusal
            assert (_read_asset(dset, dset.imgs[1]['assets'][0]) == 1.0).all()
            mgr.finalize_image(1, overwrite=True)
            assert (_read_asset(dset, dset.imgs[1]['assets'][0]) == 2.0).all()
        else:
            mgr.finalize_image(1)
    assets = dset.imgs[1]['assets']
    assert len(assets) == 1
    assert (_read_asset(dset, assets[0]) == 3.0).all()


@pytest.mark.parametrize('code', ['a/b', '..', '../up', 'a\\b', '', 'x/../y'])
def test_short_code_with_separators_is_rejected(tmp_path, code):
    dset = _make_dataset(tmp_path, sizes=((8, 8),))
    with pytest.raises(StitchingError, match='short_code'):
        CocoStitchingManager(dset, code, 'x')


def test_bad_input(tmp_path):
    dset = _make_dataset(tmp_path, sizes=((8, 8),))
    with pytest.raises(StitchingError, match='assets_dname'):
        CocoStitchingManager(dset, 'ok', 'x', assets_dname='../out')
    with pytest.raises(InvalidOptionError):
        CocoStitchingManager(dset, 'ok', 'x', stitching_space='world')
    with pytest.raises(InvalidOptionError):
        CocoStitchingManager(dset, 'ok', 'x', prob_format='jpg')
    with pytest.raises(ValueError):
        CocoStitchingManager(dset, 'ok', 'a,,b')
    with pytest.raises(InvalidOptionError, match="dtype='banana'.*'float32'"):
        CocoStitchingManager(dset, 'ok', 'x', dtype='banana')
    with pytest.raises(InvalidOptionError, match="dtype='int16'"):
        CocoStitchingManager(dset, 'ok', 'x', dtype='int16')
    mgr = CocoStitchingManager(dset, 'ok', 'a|b')
    with pytest.raises(StitchingError, match=r'\(8, 8, 3\).*2'):
        mgr.accumulate_image(1, None, np.zeros((8, 8, 3)))
    with pytest.raises(StitchingError, match=r'\(4, 4, 2\)'):
        mgr.accumulate_image(1, (slice(0, 4), slice(0, 5)), np.zeros((4, 4, 2)))
    with pytest.raises(UnknownIdError):
        mgr.accumulate_image(99, None, np.zeros((8, 8, 2)))
    with pytest.raises(StitchingError, match='no data'):
        mgr.finalize_image(1)
    mgr.accumulate_image(1, None, np.zeros((8, 8, 2)), scale_asset_from_stitchspace=1.0)
    with pytest.raises(StitchingError, match='differs'):
        mgr.accumulate_image(1, None, np.zeros((8, 8, 2)), scale_asset_from_stitchspace=0.5)
    mgr.finalize_image(1)
    with pytest.raises(StitchingError, match='already finalized'):
        mgr.accumulate_image(1, None, np.zeros((8, 8, 2)))
    with pytest.raises(StitchingError, match='already finalized'):
        mgr.finalize_image(1)


def test_memmap_canvases_are_freed_after_finalize(tmp_path):
    dset = _make_dataset(tmp_path, sizes=((40, 40),))
    folder = tmp_path / 'canvas'
    mgr = CocoStitchingManager(dset, 'mm', 'a|b', memmap=folder, quantize=False, device='numpy')
    data = np.random.default_rng(4).random((40, 40, 2)).astype(np.float32)
    mgr.accumulate_image(1, None, data)
    assert len(list(folder.iterdir())) == 2
    asset = mgr.finalize_image(1)['asset']
    assert list(folder.iterdir()) == []
    np.testing.assert_array_equal(_read_asset(dset, asset), data)


def test_torch_device_accumulation(tmp_path):
    torch = pytest.importorskip('torch')
    dset = _make_dataset(tmp_path, sizes=((8, 8),))
    mgr = CocoStitchingManager(dset, 'tc', 'x', device='cpu', quantize=False)
    mgr.accumulate_image(1, None, torch.full((8, 8), 0.25))
    asset = mgr.finalize_image(1)['asset']
    assert (_read_asset(dset, asset) == 0.25).all()
