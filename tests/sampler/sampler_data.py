"""Small synthetic datasets for the sampler tests (importable by name: conftest modules collide across folders)."""
import kwcoco


def make_raster_dset(root, name='raster', dims=(37, 53), num_bands=3, num_images=2, seed=0):
    """A small dataset of random PNGs with two boxes (one with a polygon) per image."""
    import kwimage
    import numpy as np
    rng = np.random.default_rng(seed)
    root = root / name
    root.mkdir(parents=True, exist_ok=True)
    dset = kwcoco.CocoDataset()
    dset.add_category('a')
    dset.add_category('b')
    h, w = dims
    for index in range(num_images):
        fpath = root / f'img_{index}.png'
        kwimage.imwrite(fpath, rng.integers(0, 255, (h, w, num_bands), dtype=np.uint8))
        gid = dset.add_image(file_name=str(fpath), width=w, height=h)
        dset.add_annotation(gid, category_id=1, bbox=[2.0, 3.0, 10.0, 6.0])
        poly = kwimage.Polygon.from_coco([w - 12, h - 9, w - 2, h - 9, w - 2, h - 1, w - 12, h - 1])
        dset.add_annotation(gid, category_id=2, bbox=[w - 12.0, h - 9.0, 10.0, 8.0],
                            segmentation=poly.to_coco('new'))
    dset.fpath = str(root / 'data.kwcoco.json')
    return dset


def make_msi_video_dset(root, name='msi_video', num_frames=2, seed=1):
    """One 60x90 video whose frames have RGB at full resolution, B1 at 1/3 and B2 at 1/2 (assets)."""
    import kwimage
    import numpy as np
    rng = np.random.default_rng(seed)
    root = root / name
    root.mkdir(parents=True, exist_ok=True)
    dset = kwcoco.CocoDataset()
    dset.add_category('thing')
    vidid = dset.add_video(name='vid', width=90, height=60)
    for frame in range(num_frames):
        assets = []
        for chan, scale, bands in [('r|g|b', 1, 3), ('B1', 3, 1), ('B2', 2, 1)]:
            fpath = root / f'f{frame}_{chan.replace("|", "")}.tif'
            kwimage.imwrite(fpath, rng.integers(0, 255, (60 // scale, 90 // scale, bands), dtype=np.uint8))
            assets.append({'file_name': str(fpath), 'channels': chan, 'width': 90 // scale,
                           'height': 60 // scale, 'warp_aux_to_img': {'scale': scale}})
        gid = dset.add_image(name=f'frame{frame}', width=90, height=60, video_id=vidid, frame_index=frame,
                             warp_img_to_vid={'type': 'affine'}, auxiliary=assets)
        dset.add_annotation(gid, category_id=1, bbox=[10.0 + frame, 20.0, 15.0, 9.0])
    return dset


# ---- kwcoco's 'vidshapes1-msi-multisensor' (four frames, one per sensor, bands differing by sensor) ----

#: The backends the multisensor tests compare.
MULTISENSOR_BACKENDS = [None, 'npy', 'cog']


def make_multisensor_dset(root):
    """The demo video of four frames, one of each of its four sensors, as kwcoco writes it.

    Without GDAL's Python bindings kwimage writes each 2-band asset ('B8|B11', 'B10|B11',
    'flowx|flowy') as one TIFF page per row, which the readers load as the (H, W, 2) image.
    """
    # rng fixed (kwcoco's default seed hashes dpath)
    return kwcoco.CocoDataset.demo('vidshapes1-msi-multisensor', dpath=root / 'multisensor', verbose=0,
                                   num_frames=4, rng=14)


def frame_channels(dset, gid):
    """The band names of an image, in asset order."""
    from ndsampler.channels import FusedChannelSpec
    img = dset.imgs[gid]
    assets = img.get('auxiliary', img.get('assets', []))
    return [name for asset in assets for name in FusedChannelSpec.coerce(asset['channels']).as_list()]


def union_channels(dset, gids=None):
    """Bands of the frames ``gids`` (default all) in first-seen order: what ``'<all>'`` gives a video."""
    gids = sorted(dset.imgs) if gids is None else gids
    return list(dict.fromkeys(name for gid in gids for name in frame_channels(dset, gid)))


def gid_of(dset, sensor):
    """The first image of ``sensor``."""
    return next(gid for gid in sorted(dset.imgs) if dset.imgs[gid]['sensor'] == sensor)
