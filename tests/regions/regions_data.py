"""Synthetic kwcoco datasets for the regions tests (importable by name: conftest modules collide across folders)."""
import kwcoco
import numpy as np


def make_dataset(image_sizes, boxes_per_image=0, seed=0, categories=('cat', 'dog'), max_side=40):
    """A dataset with images of the given (w, h) and random boxes (categories cycled)."""
    rng = np.random.default_rng(seed)
    dset = kwcoco.CocoDataset()
    cids = [dset.add_category(name) for name in categories]
    for k, (w, h) in enumerate(image_sizes):
        gid = dset.add_image(name=f'img{k}', width=int(w), height=int(h))
        for j in range(boxes_per_image):
            bw, bh = rng.uniform(1, max_side, size=2)
            x, y = rng.uniform(-bw / 2, w - bw / 2), rng.uniform(-bh / 2, h - bh / 2)
            dset.add_annotation(image_id=gid, category_id=cids[j % len(cids)],
                                bbox=[float(x), float(y), float(bw), float(bh)])
    return dset


def make_video_dataset(num_frames=5, size=(60, 40), scale=1.0):
    """One video of ``num_frames`` frames; images are ``scale`` times smaller than the video."""
    dset = kwcoco.CocoDataset()
    cid = dset.add_category('cat')
    vw, vh = size
    vidid = dset.add_video(name='vid', width=vw, height=vh)
    iw, ih = int(round(vw / scale)), int(round(vh / scale))
    for t in range(num_frames):
        gid = dset.add_image(name=f'f{t}', width=iw, height=ih, video_id=vidid, frame_index=t,
                             warp_img_to_vid={'scale': scale})
        if t % 2 == 0:
            dset.add_annotation(image_id=gid, category_id=cid, bbox=[2 + t, 3, 5, 4])
    return dset
