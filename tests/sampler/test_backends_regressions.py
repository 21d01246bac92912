"""Every backend on images and videos, and regression tests for the ndsampler 0.8.1 bugs (issue 4 item 5)."""
import pathlib

import numpy as np
import pytest

from ndsampler.sampler import CocoSampler

from sampler_data import make_msi_video_dset, make_raster_dset

BACKENDS = [None, 'npy', 'cog']


@pytest.fixture(scope='module')
def references(raster_dset, msi_video, tmp_path_factory):
    work = tmp_path_factory.mktemp('ref_work')
    return CocoSampler(raster_dset, workdir=work), CocoSampler(msi_video, workdir=work)


IMAGE_TARGETS = [
    {'gid': 1, 'slices': (slice(-5, 20), slice(30, 60)), 'pad': 2},
    {'gid': 2, 'cx': 20, 'cy': 10, 'width': 16, 'height': 12, 'scale': 0.5, 'channels': 'u.2|u.0'},
]
VIDEO_TARGETS = [
    {'vidid': 1, 'time_slice': slice(-1, 2), 'space_slice': (slice(-4, 30), slice(50, 95)), 'nodata': 'float'},
    {'vidid': 1, 'space_slice': (slice(0, 30), slice(0, 45)), 'channels': 'B1|r|B2|nope', 'dsize': (30, 20)},
]


@pytest.mark.parametrize('backend', BACKENDS)
def test_backends_agree_on_images_and_videos(backend, raster_dset, msi_video, references, tmp_path):
    img_ref, vid_ref = references
    img_sampler = CocoSampler(raster_dset, workdir=tmp_path, backend=backend)
    vid_sampler = CocoSampler(msi_video, workdir=tmp_path, backend=backend)
    for sampler, ref, targets in [(img_sampler, img_ref, IMAGE_TARGETS), (vid_sampler, vid_ref, VIDEO_TARGETS)]:
        for target in targets:
            got, want = sampler.load_sample(target), ref.load_sample(target)
            np.testing.assert_allclose(got['im'], want['im'], atol=1e-4, equal_nan=True)
            assert got['annots']['aids'].tolist() == want['annots']['aids'].tolist()
    if backend is not None:
        assert list(tmp_path.rglob('_cache/frames/*'))


def test_grid_indexes_are_zero_based_and_kwargs_kept(raster_dset, tmp_path):
    """0.8.1: grid indexes were off by one; new_sample_grid dropped its kwargs."""
    sampler = CocoSampler(raster_dset, workdir=tmp_path)
    grid = sampler.new_sample_grid('image_detection', (16, 16))
    indexes = sorted(grid['positives_indexes'] + grid['negatives_indexes'])
    assert indexes == list(range(len(grid['targets'])))
    assert grid['positives_indexes'] and min(grid['positives_indexes']) >= 0
    no_annots = sampler.new_sample_grid('image_detection', (16, 16), use_annots=False)
    assert no_annots['positives_indexes'] == []
    sample = sampler.load_sample(grid['targets'][grid['positives_indexes'][0]])
    assert len(sample['annots']['aids']) > 0


def test_video_grid_targets_load(msi_video, tmp_path):
    sampler = CocoSampler(msi_video, workdir=tmp_path, backend='npy')
    grid = sampler.new_sample_grid('video_detection', (2, 32, 32))
    for target in grid['targets'][:3]:
        assert sampler.load_sample(target)['im'].shape[:3] == (2, 32, 32)


def test_load_region_none(raster_dset, tmp_path):
    """0.8.1: frames.load_region(gid, None) failed."""
    sampler = CocoSampler(raster_dset, workdir=tmp_path)
    assert sampler.frames.load_region(1, None).shape == (37, 53, 3)


def test_pathlib_file_names(tmp_path):
    """0.8.1: datasets whose file_name values are pathlib.Path failed to hash."""
    dset = make_raster_dset(tmp_path, name='paths')
    for img in dset.dataset['images']:
        img['file_name'] = pathlib.Path(img['file_name'])
    sampler = CocoSampler(dset, workdir=tmp_path, backend='npy')
    assert isinstance(sampler.hashid, str)
    assert sampler.load_sample({'gid': 1, 'slices': (slice(0, 5), slice(0, 5))})['im'].shape == (5, 5, 3)


def test_npy_backend_video_and_assets_without_channels(tmp_path):
    """0.8.1: the npy backend failed on video targets; 3D targets failed when assets lack ``channels``."""
    dset = make_msi_video_dset(tmp_path, name='nochan')
    for img in dset.dataset['images']:
        for asset in img['auxiliary']:
            asset.pop('channels')
    dset.rebuild_index()
    sampler = CocoSampler(dset, workdir=tmp_path, backend='npy')
    sample = sampler.load_sample({'vidid': 1, 'space_slice': (slice(0, 10), slice(0, 12))})
    assert sample['im'].shape == (2, 10, 12, 5)
