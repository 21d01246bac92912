"""Sources checked against their dataset entry: band count vs channels, size vs width/height (prepare, reads, report)."""
import os

import cv2
import kwcoco
import numpy as np
import pytest
from frames_helpers import BACKEND_SPECS, smooth_image, write_tif

from ndsampler.errors import ImageReadError, SourceMismatchError
from ndsampler.frames import CocoFrames, SourceMismatch, _validate
from ndsampler.sampler import CocoSampler


def _dataset(tmp_path, images):
    """A kwcoco dataset in ``tmp_path`` of ``images`` (dicts for ``add_image``, paths relative to it)."""
    dset = kwcoco.CocoDataset()
    dset.fpath = str(tmp_path / 'data.kwcoco.json')
    for img in images:
        dset.add_image(**img)
    return dset


def _png(fpath, h, w):
    cv2.imwrite(str(fpath), smooth_image((h, w, 3), 1))
    return fpath


def _multires(tmp_path, low_px, image_px=128, name='img'):
    """An image of ``image_px`` square with a full-resolution band and a 1/3-resolution band of ``low_px``."""
    write_tif(tmp_path / f'{name}_full.tif', smooth_image((image_px, image_px, 1), 2))
    write_tif(tmp_path / f'{name}_low.tif', smooth_image((low_px, low_px, 1), 3))
    return {'name': name, 'width': image_px, 'height': image_px, 'auxiliary': [
        {'file_name': f'{name}_full.tif', 'channels': 'B1', 'width': image_px, 'height': image_px},
        {'file_name': f'{name}_low.tif', 'channels': 'B8', 'width': low_px, 'height': low_px,
         'warp_aux_to_img': {'scale': 3.0}},
    ]}


@pytest.fixture
def bad_dset(tmp_path):
    """Image 1: a 3-band TIFF whose channels name 5; image 2: a 64x48 PNG the json calls 100x80; image 3: fine."""
    write_tif(tmp_path / 'three.tif', smooth_image((40, 50, 3), 4))
    _png(tmp_path / 'small.png', 48, 64)
    _png(tmp_path / 'good.png', 48, 64)
    return _dataset(tmp_path, [
        {'file_name': 'three.tif', 'width': 50, 'height': 40, 'channels': 'a|b|c|d|e'},
        {'file_name': 'small.png', 'width': 100, 'height': 80, 'channels': 'r|g|b'},
        {'file_name': 'good.png', 'width': 64, 'height': 48, 'channels': 'r|g|b'},
    ])


@pytest.mark.parametrize('backend', BACKEND_SPECS)
def test_prepare_reports_each_mismatch_by_file(bad_dset, tmp_path, backend):
    summary = CocoFrames(bad_dset, workdir=tmp_path / 'w', backend=backend).prepare(progress=False)
    assert not summary.ok and summary.failed == {}
    assert sorted(summary.mismatched) == [1, 2]
    (bands,) = summary.mismatched[1]
    assert (bands.what, bands.fpath) == ('bands', str(tmp_path / 'three.tif'))
    assert bands.dataset == "channels 'a|b|c|d|e' (5 bands)" and bands.found == '3 bands'
    (size,) = summary.mismatched[2]
    assert (size.what, size.fpath, size.dataset, size.found) == (
        'size', str(tmp_path / 'small.png'), '100x80 (width/height)', '64x48')
    text = str(summary)
    assert 'mismatched       2' in text
    assert f"image 1: {tmp_path / 'three.tif'}: bands: dataset says channels 'a|b|c|d|e' (5 bands), " \
           'file has 3 bands' in text
    assert f"image 2: {tmp_path / 'small.png'}: size: dataset says 100x80 (width/height), file has 64x48" in text
    assert 'good.png' not in text


@pytest.mark.parametrize('backend', BACKEND_SPECS)
def test_reads_raise_instead_of_padding(bad_dset, tmp_path, backend):
    frames = CocoFrames(bad_dset, workdir=tmp_path / 'w', backend=backend)
    with pytest.raises(SourceMismatchError) as info:
        frames.load_region(2, (slice(0, 10), slice(0, 10)))
    assert not isinstance(info.value, ImageReadError), 'a mismatch is no damaged cache file to rebuild'
    assert str(info.value).startswith(f"image 2 disagrees with its source file: {tmp_path / 'small.png'}: size: "
                                      'dataset says 100x80 (width/height), file has 64x48')
    with pytest.raises(SourceMismatchError, match=r"image 1 .*three\.tif: bands: .*'a\|b\|c\|d\|e' \(5 bands\), "
                                                  r'file has 3 bands'):
        frames.load_image(1)
    with pytest.raises(SourceMismatchError, match='small.png'):
        frames.load_image(2, cache=False)
    with pytest.raises(SourceMismatchError, match='three.tif'):
        frames.load_delayed(1, channels='a|b')
    assert frames.load_region(3, (slice(0, 10), slice(0, 10))).shape == (10, 10, 3)


@pytest.mark.parametrize('backend', BACKEND_SPECS)
def test_sampler_raises_naming_image_file_and_sizes(bad_dset, tmp_path, backend):
    sampler = CocoSampler(bad_dset, workdir=tmp_path / 'w', backend=backend)
    target = {'gid': 2, 'cx': 20, 'cy': 20, 'width': 16, 'height': 16}
    with pytest.raises(SourceMismatchError, match=r'image 2 .*small\.png: size: dataset says 100x80 '
                                                  r'\(width/height\), file has 64x48'):
        sampler.load_sample(target)
    with pytest.raises(SourceMismatchError, match='three.tif'):
        sampler.load_sample({'gid': 1, 'cx': 20, 'cy': 20, 'width': 16, 'height': 16})
    assert sampler.load_sample({**target, 'gid': 3})['im'].shape == (16, 16, 3)


def test_mismatch_is_not_repaired(bad_dset, tmp_path):
    frames = CocoFrames(bad_dset, workdir=tmp_path / 'w', backend='cog')
    frames.prepare(progress=False)
    (fpath,) = frames.cache_fpaths(1)
    before = os.stat(fpath).st_mtime_ns
    with pytest.raises(SourceMismatchError):
        frames.load_region(1)
    assert os.stat(fpath).st_mtime_ns == before


def test_source_mismatches_reads_sources_only(bad_dset, tmp_path):
    frames = CocoFrames(bad_dset, workdir=tmp_path / 'w', backend='npy')
    found = frames.source_mismatches()
    assert sorted(found) == [1, 2] and [m.what for m in found[1]] == ['bands']
    assert not os.path.exists(frames.cache_dpath), 'nothing converted'
    assert frames.source_mismatches([3]) == {}
    os.unlink(tmp_path / 'three.tif')
    assert sorted(frames.source_mismatches()) == [2], 'a missing source is for status to report'


@pytest.mark.parametrize('low_px', [42, 43])
def test_low_resolution_band_within_rounding_passes(tmp_path, low_px):
    dset = _dataset(tmp_path, [_multires(tmp_path, low_px)])
    frames = CocoFrames(dset, workdir=tmp_path / 'w', backend='npy')
    summary = frames.prepare(progress=False)
    assert summary.ok and summary.mismatched == {}
    assert frames.load_region(1, (slice(0, 9), slice(0, 9))).shape == (9, 9, 2)


@pytest.mark.parametrize('low_px', [41, 44])
def test_low_resolution_band_off_by_a_pixel_is_flagged(tmp_path, low_px):
    dset = _dataset(tmp_path, [_multires(tmp_path, low_px)])
    (found,) = CocoFrames(dset, backend=None).source_mismatches()[1]
    assert found.fpath == str(tmp_path / 'img_low.tif') and found.what == 'size'
    assert found.dataset == 'image 128x128 (width/height)'
    assert found.found.startswith(f'{low_px}x{low_px} ({3 * low_px}x{3 * low_px} in image space by warp_aux_to_img')


def test_asset_width_height_must_match_exactly(tmp_path):
    img = _multires(tmp_path, 43)
    img['auxiliary'][1]['width'] = 42  # the json says 42x43; the file is 43x43 (within the image rounding)
    (found,) = CocoFrames(_dataset(tmp_path, [img])).source_mismatches()[1]
    assert (found.what, found.dataset, found.found) == ('size', '42x43 (width/height)', '43x43')


def test_exact_multiple_allows_no_rounding(tmp_path):
    dset = _dataset(tmp_path, [_multires(tmp_path, 33, image_px=96), _multires(tmp_path, 32, image_px=96, name='ok')])
    assert list(CocoFrames(dset).source_mismatches()) == [1]


def test_missing_metadata_is_not_flagged(tmp_path):
    """No width/height: no size check (nothing filled in); no channels: any band count."""
    write_tif(tmp_path / 'five.tif', smooth_image((30, 20, 5), 5))
    img = _multires(tmp_path, 50)
    for obj in [img, *img['auxiliary']]:
        del obj['width'], obj['height']
    dset = _dataset(tmp_path, [{'file_name': 'five.tif'}, img])
    assert 'width' not in dset.imgs[1] and 'width' not in dset.imgs[2]
    frames = CocoFrames(dset, workdir=tmp_path / 'w', backend='cog')
    summary = frames.prepare(progress=False)
    assert summary.ok and summary.mismatched == {}
    assert frames.load_image(1).shape == (30, 20, 5)


def test_rotated_asset_skips_the_image_size_check(tmp_path):
    img = _multires(tmp_path, 60)
    img['auxiliary'][1]['warp_aux_to_img'] = {'scale': 3.0, 'theta': 0.2}
    assert CocoFrames(_dataset(tmp_path, [img])).source_mismatches() == {}


def test_prepare_with_workers_carries_mismatches(bad_dset, tmp_path):
    summary = CocoFrames(bad_dset, workdir=tmp_path / 'w', backend='npy').prepare(workers=2, progress=False)
    assert sorted(summary.mismatched) == [1, 2] and sorted(summary.converted) == [1, 2, 3]
    assert all(isinstance(m, SourceMismatch) for found in summary.mismatched.values() for m in found)


def test_shared_source_is_reported_per_image(tmp_path):
    _png(tmp_path / 'shared.png', 48, 64)
    dset = _dataset(tmp_path, [{'file_name': 'shared.png', 'width': 64, 'height': 48},
                               {'name': 'alias', 'auxiliary': [{'file_name': 'shared.png', 'width': 60, 'height': 48}]}])
    summary = CocoFrames(dset, workdir=tmp_path / 'w', backend='npy').prepare(progress=False)
    assert list(summary.mismatched) == [2] and summary.mismatched[2][0].dataset == '60x48 (width/height)'


@pytest.mark.parametrize('backend', BACKEND_SPECS)
def test_checked_once_per_tree_not_per_read(bad_dset, tmp_path, backend, monkeypatch):
    calls = []
    real = _validate.check_header
    monkeypatch.setattr('ndsampler.frames._frames.check_header', lambda *a: calls.append(a) or real(*a))
    frames = CocoFrames(bad_dset, workdir=tmp_path / 'w', backend=backend)
    for y in range(5):
        frames.load_region(3, (slice(y, y + 8), slice(0, 8)))
    assert len(calls) == 1


@pytest.mark.parametrize('demo', ['shapes_dset', 'msi_dset'])
def test_kwcoco_demo_datasets_pass(demo, request, tmp_path):
    dset = request.getfixturevalue(demo)
    frames = CocoFrames(dset, workdir=tmp_path / 'w', backend='npy')
    assert frames.source_mismatches() == {}
    summary = frames.prepare(progress=False)
    assert summary.ok and summary.mismatched == {}
    for gid in frames.image_ids[:2]:
        assert np.isfinite(frames.load_region(gid, (slice(0, 8), slice(0, 8)))).all()


def test_kwcoco_multisensor_demo_passes(tmp_path):
    dset = kwcoco.CocoDataset.demo('vidshapes2-msi-multisensor', dpath=tmp_path / 'demo', verbose=0, rng=0)
    frames = CocoFrames(dset, workdir=tmp_path / 'w', backend=None)
    assert frames.source_mismatches() == {}
    for gid in frames.image_ids:
        frames.load_delayed(gid)
