"""Pixel differences from ndsampler 0.8.1 that COMPAT.md lists for resampled space-time samples
(what kwcoco-dataloader loads at ``input_space_scale=0.5`` and for bands stored at a coarser resolution)."""
import kwcoco
import kwimage
import numpy as np

import ndsampler


def _video(tmp_path, image: np.ndarray, **asset) -> tuple[ndsampler.CocoSampler, int]:
    """One frame in a video; its only band ``b`` is ``image`` warped into a 32x32 frame by ``warp_aux_to_img``."""
    kwimage.imwrite(tmp_path / 'b.tif', image)
    dset = kwcoco.CocoDataset()
    dset.fpath = str(tmp_path / 'data.kwcoco.json')
    vid = dset.add_video(name='v', width=32, height=32)
    h, w = image.shape[:2]
    gid = dset.add_image(name='f', width=32, height=32, video_id=vid, frame_index=0,
                         auxiliary=[{'file_name': 'b.tif', 'channels': 'b', 'width': w, 'height': h, **asset}])
    return ndsampler.CocoSampler(dset, backend=None), gid


def test_antialiased_downscale_of_a_window_is_the_same_region_of_a_larger_sample(tmp_path):
    """0.8.1 blurred only the window before a downscale (its outer ring against the window's own edge: up to 78 on
    noise in [0, 1000) at x0.5, 2,165 on vidshapes' B1); here the blur reads the pixels around the window."""
    noise = np.random.default_rng(0).integers(0, 1000, (32, 32, 1)).astype(np.uint16)
    sampler, gid = _video(tmp_path, noise)

    def load(y0, y1, x0, x1):
        target = {'gids': [gid], 'space_slice': (slice(y0, y1), slice(x0, x1)), 'scale': 0.5, 'dtype': np.float32}
        return sampler.load_sample(target, with_annots=False)['im'][0, ..., 0]

    whole = load(0, 32, 0, 32)
    window = load(8, 24, 12, 28)
    assert window.shape == (8, 8)
    np.testing.assert_array_equal(window, whole[4:12, 6:14])
    assert not np.allclose(window, noise[8:24:2, 12:28:2, 0])  # antialiased, not decimated


def test_coarse_band_upsampled_at_the_image_edge_replicates_it(tmp_path):
    """A band stored at 1/4 resolution (constant 200): 0.8.1 blended the border (0) into the frame's outer pixels
    (78 at the corner, 125 along the edge; the same with ``nodata='float'``); here the band's edge is replicated."""
    sampler, gid = _video(tmp_path, np.full((8, 8, 1), 200, np.uint16),
                          warp_aux_to_img={'type': 'affine', 'scale': 4.0})
    window = (slice(0, 32), slice(0, 32))
    for options, shape in (({}, (32, 32)), ({'scale': 0.5}, (16, 16)),
                           ({'nodata': 'float', 'padkw': {'constant_values': np.nan}, 'dtype': np.float32}, (32, 32))):
        im = sampler.load_sample({'gids': [gid], 'space_slice': window, 'channels': 'b', **options},
                                 with_annots=False)['im']
        assert im.shape == (1, *shape, 1)
        assert (im == 200).all(), options
