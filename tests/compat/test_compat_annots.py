"""Annotation arrays of a sample keep integer ids where ndsampler 0.8.1 gave floats (COMPAT.md)."""
import kwcoco
import kwimage
import numpy as np

import ndsampler


def test_ids_stay_integers_for_frames_without_annotations(tmp_path):
    """0.8.1 built ids with ``np.array(list)``: a frame without annotations got float64 ``aids`` / ``cids``, and
    the flat ids of a video sample with such a frame became floats (``[1.0]``); here they are int64 always."""
    dset = kwcoco.CocoDataset()
    dset.fpath = str(tmp_path / 'data.kwcoco.json')
    cid = dset.add_category('cat')
    vid = dset.add_video(name='v', width=16, height=16)
    gids = []
    for t in range(2):
        kwimage.imwrite(tmp_path / f'f{t}.png', np.full((16, 16, 3), 10 * t, np.uint8))
        gids.append(dset.add_image(file_name=f'f{t}.png', width=16, height=16, video_id=vid, frame_index=t))
    aid = dset.add_annotation(image_id=gids[0], category_id=cid, bbox=[2, 2, 6, 6])
    sampler = ndsampler.CocoSampler(dset)
    window = (slice(0, 16), slice(0, 16))

    annots = sampler.load_sample({'gids': gids, 'space_slice': window})['annots']
    first, empty = (dets.data for dets in annots['frame_dets'])
    assert first['aids'].tolist() == [aid] and empty['aids'].shape == (0,)
    for ids in (first['aids'], first['cids'], empty['aids'], empty['cids'], annots['aids'], annots['cids']):
        assert ids.dtype == np.int64
    assert annots['aids'].tolist() == [aid] and annots['cids'].tolist() == [cid]

    image = sampler.load_sample({'gid': gids[1], 'space_slice': window})['annots']
    assert image['aids'].dtype == image['cids'].dtype == np.int64 and image['aids'].shape == (0,)
