"""Deliberate differences from ndsampler 0.8.1 that COMPAT.md lists and no other test pins (space-time loads)."""
import kwcoco
import kwimage
import numpy as np
import pytest

import ndsampler


@pytest.fixture
def flat_video(tmp_path):
    """One 16x16 frame of constant value 200 in a video (0.8.1's space-time path)."""
    kwimage.imwrite(tmp_path / 'a.png', np.full((16, 16, 3), 200, np.uint8))
    dset = kwcoco.CocoDataset()
    dset.fpath = str(tmp_path / 'data.kwcoco.json')
    vid = dset.add_video(name='v', width=16, height=16)
    gid = dset.add_image(file_name='a.png', width=16, height=16, video_id=vid, frame_index=0)
    return ndsampler.CocoSampler(dset, backend=None), gid


def test_space_time_padding_follows_padkw(flat_video):
    """0.8.1's space-time path ignored ``padkw`` (always zeros); here it is used as for images."""
    sampler, gid = flat_video
    target = {'gids': [gid], 'space_slice': (slice(-4, 12), slice(-4, 12)), 'padkw': {'mode': 'edge'}}
    im = sampler.load_sample(target, with_annots=False)['im']
    assert im.shape == (1, 16, 16, 3) and (im == 200).all()
    zeros = sampler.load_sample({**target, 'padkw': {'mode': 'constant'}}, with_annots=False)['im']
    assert (zeros[0, :4] == 0).all() and (zeros[0, 4:, 4:] == 200).all()


def test_upsampling_replicates_the_edge(flat_video):
    """Upsampled windows interpolate against the image's own edge pixels (0.8.1 blended the border in: 112 at
    the corner of a constant 200 image scaled by 2)."""
    sampler, gid = flat_video
    target = {'gids': [gid], 'space_slice': (slice(0, 16), slice(0, 16)), 'scale': 2}
    im = sampler.load_sample(target, with_annots=False)['im']
    assert im.shape == (1, 32, 32, 3) and (im == 200).all()
