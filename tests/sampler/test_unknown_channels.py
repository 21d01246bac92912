"""A requested channel that no image of the dataset has warns once per sampler and channel; a missing one is NaN."""
import warnings

import kwcoco
import kwimage
import numpy as np

from ndsampler.errors import UnknownChannelWarning
from ndsampler.sampler import CocoSampler

WINDOW = (slice(0, 8), slice(0, 8))


def _two_sensor_dset(root):
    """Image 1: an 'r|g|b' PNG; image 2: a one-band 'nir' TIFF; image 3: a PNG declaring no channels."""
    rng = np.random.default_rng(0)
    dset = kwcoco.CocoDataset()
    for name, bands, channels in [('rgb', 3, 'r|g|b'), ('nir', 1, 'nir'), ('plain', 3, None)]:
        fpath = root / f'{name}.{"tif" if bands == 1 else "png"}'
        kwimage.imwrite(fpath, rng.integers(1, 255, (16, 16, bands), dtype=np.uint8))
        img = {'file_name': str(fpath), 'width': 16, 'height': 16}
        if channels is not None:
            img['channels'] = channels
        dset.add_image(name=name, **img)
    return dset


def _sample(sampler, gid, channels):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        im = sampler.load_sample({'gid': gid, 'slices': WINDOW, 'channels': channels}, nodata='float')['im']
    return im, [w for w in caught if issubclass(w.category, UnknownChannelWarning)]


def test_typo_warns_once_naming_channel_and_known(shapes8, tmp_path):
    sampler = CocoSampler(shapes8, workdir=tmp_path)
    im, caught = _sample(sampler, 1, 'no|such|band')
    assert im.shape == (8, 8, 3) and np.isnan(im).all()
    assert len(caught) == 1 and caught[0].filename == __file__  # points at the caller's load_sample
    message = str(caught[0].message)
    assert "'no', 'such', 'band'" in message and "known channels: 'r', 'g', 'b'" in message
    assert caught[0].message.channels == ('no', 'such', 'band')
    assert _sample(sampler, 1, 'no|such|band')[1] == []  # not twice on a second sample
    assert _sample(sampler, 2, 'r|such')[1] == []  # nor for an already named channel in another spec
    im, caught = _sample(sampler, 1, 'r|nope')
    assert [w.message.channels for w in caught] == [('nope',)] and np.isnan(im[..., 1]).all()
    assert not np.isnan(im[..., 0]).any()
    assert len(_sample(CocoSampler(shapes8, workdir=tmp_path), 1, 'nope')[1]) == 1  # once per sampler


def test_channel_of_other_frames_is_nan_without_warning(tmp_path):
    sampler = CocoSampler(_two_sensor_dset(tmp_path))
    im, caught = _sample(sampler, 1, 'r|nir')
    assert caught == [] and np.isnan(im[..., 1]).all() and not np.isnan(im[..., 0]).any()
    im, caught = _sample(sampler, 2, 'r|nir')
    assert caught == [] and np.isnan(im[..., 0]).all() and not np.isnan(im[..., 1]).any()
    # unnamed bands of an asset that declares none are known by their default names
    assert _sample(sampler, 3, 'u.1')[1] == []
    (warning,) = _sample(sampler, 3, 'nri')[1]
    assert warning.message.known == ('r', 'g', 'b', 'nir', 'u.0', 'u.1', 'u.2')


def test_known_channels_gathered_once(tmp_path, monkeypatch):
    sampler = CocoSampler(_two_sensor_dset(tmp_path))
    calls = []
    image_channels = sampler.frames.image_channels
    monkeypatch.setattr(sampler.frames, 'image_channels', lambda gid: calls.append(gid) or image_channels(gid))
    _sample(sampler, 1, None)
    assert calls == []  # a sample naming no channels checks nothing
    for channels in ('r', 'r|nir', 'g', 'r', 'r|nir'):
        _sample(sampler, 1, channels)
    assert calls == [1, 2, 3]  # every image once, on the first sample that named channels


def test_unknown_channel_warning_message_is_bounded():
    known = [f'B{k}' for k in range(100)]
    message = str(UnknownChannelWarning(['no', 'such'], known))
    assert "'B31'" in message and "'B32'" not in message and '(100 in all)' in message
    assert issubclass(UnknownChannelWarning, UserWarning)
