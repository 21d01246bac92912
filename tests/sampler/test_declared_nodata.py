"""Nodata a source declares in its header is NaN in samples asked for ``nodata='float'``, on every backend."""
import kwcoco
import numpy as np
import pytest
import rasterio

from ndsampler.sampler import CocoSampler

H, W = 40, 60

#: (dtype, declared nodata value) of the synthetic GeoTIFF sources.
KINDS = [('uint16', 0), ('float32', -9999)]


def _dset(root, dtype, nodata):
    """Two frames of one video (no warp_img_to_vid: kwcoco's lazy identity) from 2-band GeoTIFFs.

    Columns < 30 are nodata in both bands, plus one pixel of band 1; one box lies in the data half.
    """
    yy, xx = np.mgrid[0:H, 0:W]
    dset = kwcoco.CocoDataset()
    dset.add_category('a')
    vidid = dset.add_video(name='vid', width=W, height=H)
    frames = []
    for index in range(2):
        data = np.stack([1000 + 7 * yy + xx + index, 1200 + yy + 3 * xx], axis=2).astype(dtype)
        data[:, :W // 2] = nodata
        data[20, 40, 1] = nodata
        fpath = root / f'frame{index}_{dtype}.tif'
        with rasterio.open(fpath, 'w', driver='GTiff', width=W, height=H, count=2, dtype=dtype, nodata=nodata) as dst:
            dst.write(data.transpose(2, 0, 1))
        gid = dset.add_image(file_name=str(fpath), width=W, height=H, video_id=vidid, frame_index=index)
        dset.add_annotation(gid, category_id=1, bbox=[40.0, 10.0, 8.0, 8.0])
        frames.append(data)
    return dset, frames


def _masked(data, nodata):
    out = data.astype(np.float32)
    out[data == nodata] = np.nan
    return out


@pytest.fixture(params=KINDS, ids=lambda kind: kind[0])
def kind(request):
    return request.param


@pytest.fixture(params=[None, 'npy', 'cog'], ids=str)
def sampler(request, tmp_path, kind):
    dset, frames = _dset(tmp_path, *kind)
    sampler = CocoSampler(dset, workdir=tmp_path / 'work', backend=request.param)
    sampler.test_frames = frames
    return sampler


@pytest.mark.parametrize('lean', [True, False])
def test_image_samples_mask_declared_nodata(sampler, kind, lean):
    sampler._lean = lean
    data = sampler.test_frames[0]
    expected = _masked(data, kind[1])
    inside = (slice(5, 30), slice(20, 50))
    im = sampler.load_sample({'gid': 1, 'slices': inside, 'nodata': 'float'}, with_annots=False)['im']
    assert im.dtype == np.float32
    np.testing.assert_array_equal(im, expected[inside])
    # past the bottom-right border: padding is NaN too, the image part is the masked pixels
    im = sampler.load_sample({'gid': 1, 'slices': (slice(30, 50), slice(50, 70)), 'nodata': 'float'},
                             with_annots=False)['im']
    assert im.shape == (20, 20, 2)
    np.testing.assert_array_equal(im[:10, :10], expected[30:, 50:])
    assert np.isnan(im[10:]).all() and np.isnan(im[:, 10:]).all()
    # past the top-left border, over the nodata half: all NaN
    im = sampler.load_sample({'gid': 1, 'cx': 2, 'cy': 2, 'width': 12, 'height': 12, 'nodata': 'float'},
                             with_annots=False)['im']
    assert im.shape == (12, 12, 2) and np.isnan(im).all()
    # a scaled sample: no nodata value leaks into interpolated pixels
    im = sampler.load_sample({'gid': 1, 'slices': (slice(0, 40), slice(20, 60)), 'dsize': (20, 20),
                              'nodata': 'float'}, with_annots=False)['im']
    assert np.isnan(im[:, :4]).all() and np.nanmin(im) >= 1000 - 1e-3
    # default: pixels as stored (the nodata value included), integer padding 0
    raw = sampler.load_sample({'gid': 1, 'slices': (slice(30, 50), slice(50, 70))}, with_annots=False)['im']
    assert raw.dtype == data.dtype
    np.testing.assert_array_equal(raw[:10, :10], data[30:, 50:])


def test_video_samples_mask_declared_nodata(sampler, kind):
    """Video frames without warp_img_to_vid (kwcoco's lazy identity) take the same path."""
    expected = np.stack([_masked(data, kind[1]) for data in sampler.test_frames])
    im = sampler.load_sample({'vidid': 1, 'slices': (slice(0, 3), slice(35, 45), slice(25, 65)),
                              'nodata': 'float'}, with_annots=False)['im']
    assert im.shape == (3, 10, 40, 2)
    np.testing.assert_array_equal(im[:2, :5, :35], expected[:, 35:, 25:])
    assert np.isnan(im[2]).all() and np.isnan(im[:, 5:]).all() and np.isnan(im[:, :, 35:]).all()


def test_nodata_check_agrees_with_the_pixels(sampler):
    assert all(sampler.frames.may_have_nodata(gid) for gid in sampler.dset.imgs)
    assert sampler.is_nodata({'gid': 1, 'slices': (slice(0, 10), slice(5, 25))})
    assert not sampler.is_nodata({'gid': 1, 'slices': (slice(0, 10), slice(25, 35))})
    rng = np.random.default_rng(0)
    draws = [sampler.regions.get_random(rng, window_dims=(6, 6)) for _ in range(12)]
    draws += [sampler.regions.get_negative(rng=rng, window_dims=(6, 6)) for _ in range(12)]
    for tr in draws:
        assert not sampler.is_nodata(tr)
        im = sampler.load_sample(tr, with_annots=False, nodata='float')['im']
        assert not np.isnan(im).all(), tr
    assert min(tr['cx'] for tr in draws) >= W // 2 - 3  # no window wholly in the nodata half
