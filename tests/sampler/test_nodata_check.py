"""The regions' nodata check reads pixels only where a window can be all nodata."""
import kwcoco
import numpy as np
import pytest
import rasterio

from ndsampler.delayed.readers import Reader
from ndsampler.errors import UnknownChannelWarning
from ndsampler.sampler import CocoSampler

H, W = 40, 60


def _count_reads(monkeypatch):
    """Every pixel read through the reader pool appends its path."""
    calls = []
    real_read = Reader.read

    def read(self, *args, **kwargs):
        calls.append(self.fpath)
        return real_read(self, *args, **kwargs)

    monkeypatch.setattr(Reader, 'read', read)
    return calls


def _tif_dset(root, data, nodata=None):
    fpath = root / 'img.tif'
    with rasterio.open(fpath, 'w', driver='GTiff', width=W, height=H, count=data.shape[2], dtype=data.dtype.name,
                       nodata=nodata) as dst:
        dst.write(data.transpose(2, 0, 1))
    dset = kwcoco.CocoDataset()
    dset.add_category('a')
    gid = dset.add_image(file_name=str(fpath), width=W, height=H)
    dset.add_annotation(gid, category_id=1, bbox=[W - 8.0, H - 8.0, 6.0, 6.0])
    return dset


def test_integer_data_without_nodata_is_never_read_for_the_check(raster_dset, tmp_path, monkeypatch):
    sampler = CocoSampler(raster_dset, workdir=tmp_path, backend='npy')
    assert not any(sampler.frames.may_have_nodata(gid) for gid in raster_dset.imgs)
    reads = _count_reads(monkeypatch)
    rng = np.random.default_rng(0)
    draws = [sampler.regions.get_random(rng, window_dims=(16, 16)) for _ in range(20)]
    draws += [sampler.regions.get_negative(rng=rng, window_dims=(8, 8)) for _ in range(20)]
    assert reads == [], 'the nodata check read pixels of uint8 images without nodata'
    sampler.regions.preselect(n_pos=2, n_neg=3, window_dims=(8, 8), rng=1)
    sampler.regions.get_balanced(rng=rng)
    assert reads == []
    assert len(draws) == 40 and not any(sampler.is_nodata(tr) for tr in draws)
    # windows that can be all nodata are still read: wholly outside the image, or a missing channel
    gid = draws[0]['gid']
    assert sampler.is_nodata({'gid': gid, 'slices': (slice(-30, -10), slice(0, 10))})
    with pytest.warns(UnknownChannelWarning, match='nope'):
        assert sampler.is_nodata({'gid': gid, 'slices': (slice(0, 10), slice(0, 10)), 'channels': 'nope'})
    assert reads, 'the missing-channel window should have been looked at'


def test_float_data_with_nodata_windows_is_checked_and_skipped(tmp_path, monkeypatch):
    data = np.full((H, W, 1), np.nan, dtype=np.float32)
    data[:, W // 2:] = 1.0  # the left half is nodata
    sampler = CocoSampler(_tif_dset(tmp_path, data), workdir=tmp_path, backend=None)
    assert sampler.frames.may_have_nodata(1)
    reads = _count_reads(monkeypatch)
    rng = np.random.default_rng(0)
    draws = [sampler.regions.get_random(rng, window_dims=(6, 6)) for _ in range(30)]
    assert reads, 'float data must be checked'
    for tr in draws:
        im = sampler.load_sample(tr, with_annots=False, nodata='float')['im']
        assert not np.isnan(im).all(), tr
    assert min(tr['cx'] for tr in draws) >= W // 2 - 3  # no window wholly in the nodata half


@pytest.mark.parametrize('kind', ['declared_nodata', 'quantized'])
def test_integer_data_that_may_hold_nodata_keeps_the_check(tmp_path, kind):
    data = np.full((H, W, 1), 7, dtype=np.uint8)
    dset = _tif_dset(tmp_path, data, nodata=0 if kind == 'declared_nodata' else None)
    if kind == 'quantized':
        dset.imgs[1]['quantization'] = {'orig_min': 0.0, 'orig_max': 1.0, 'quant_min': 0, 'quant_max': 255,
                                        'nodata': 7}
    sampler = CocoSampler(dset, workdir=tmp_path, backend=None)
    assert sampler.frames.may_have_nodata(1)
