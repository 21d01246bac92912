"""A cache file damaged under a running sampler is rebuilt once and the sample read again (cache backends only)."""
import kwcoco
import kwimage
import numpy as np
import pytest

from ndsampler.delayed.readers import get_reader
from ndsampler.errors import ImageReadError
from ndsampler.io import write_cog
from ndsampler.sampler import CocoSampler
from tests.backends.conformance import zero_tile

SHAPE = (600, 700, 3)
#: Windows inside COG tile (1, 1) (256-pixel blocks): ``zero_tile``'s default target.
DAMAGED = {'gid': 1, 'slices': (slice(300, 340), slice(280, 330))}


def _smooth(seed):
    yy, xx = np.mgrid[0:SHAPE[0], 0:SHAPE[1]]
    base = (xx * 0.2 + yy * 0.3 + seed * 7) % 251
    return np.stack([base, (base + 60) % 251, (base * 2) % 251], axis=-1).astype(np.uint8)


def _dset(fpath, data):
    dset = kwcoco.CocoDataset()
    dset.add_category('a')
    dset.add_image(file_name=str(fpath), width=SHAPE[1], height=SHAPE[0])
    dset.fpath = str(fpath.parent / 'data.kwcoco.json')
    return dset


@pytest.mark.parametrize('lean', [True, False])
def test_damaged_cog_tile_is_repaired_and_the_sample_read_again(tmp_path, lean):
    data = _smooth(1)
    src = tmp_path / 'src.png'
    kwimage.imwrite(src, data)
    sampler = CocoSampler(_dset(src, data), workdir=tmp_path / 'work', backend='cog')
    sampler._lean = lean  # the lean single-file read and the delayed-tree path both recover
    first = sampler.load_sample({'gid': 1, 'slices': (slice(0, 8), slice(0, 8))})['im']  # cached, reader pooled
    np.testing.assert_array_equal(first, data[:8, :8])
    (cache,) = sampler.frames.cache_fpaths(1)
    zero_tile(cache)
    sample = sampler.load_sample(DAMAGED)
    np.testing.assert_array_equal(sample['im'], data[DAMAGED['slices']])
    assert sampler.frames.backend.validate(cache, 'deep')
    scaled = sampler.load_sample({**DAMAGED, 'scale': 0.5}, with_annots=False)['im']
    assert scaled.shape == (20, 25, 3)


def test_damaged_video_frame_is_repaired(tmp_path):
    dset = kwcoco.CocoDataset()
    dset.add_category('a')
    vidid = dset.add_video(name='v', width=SHAPE[1], height=SHAPE[0])
    frames = [_smooth(seed) for seed in range(2)]
    for index, data in enumerate(frames):
        fpath = tmp_path / f'f{index}.png'
        kwimage.imwrite(fpath, data)
        dset.add_image(file_name=str(fpath), width=SHAPE[1], height=SHAPE[0], video_id=vidid, frame_index=index)
    sampler = CocoSampler(dset, workdir=tmp_path / 'work', backend='cog')
    window = DAMAGED['slices']
    sampler.load_sample({'vidid': vidid, 'space_slice': (slice(0, 8), slice(0, 8))})
    zero_tile(sampler.frames.cache_fpaths(2)[0])
    im = sampler.load_sample({'vidid': vidid, 'space_slice': window}, with_annots=False)['im']
    np.testing.assert_array_equal(im, np.stack([data[window] for data in frames]))


def test_the_none_backend_never_repairs_sources(tmp_path):
    data = _smooth(2)
    src = write_cog(tmp_path / 'src.tif', data)
    sampler = CocoSampler(_dset(src, data), backend=None)
    get_reader(str(src)).close()
    zero_tile(src)
    before = src.read_bytes()
    with pytest.raises(ImageReadError, match='src.tif'):
        sampler.load_sample(DAMAGED)
    assert src.read_bytes() == before
