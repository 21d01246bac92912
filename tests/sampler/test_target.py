"""Target resolution: every target form, aliases, aid, window_dims, pad, errors, no mutation."""
import copy

import pytest

from ndsampler.errors import InvalidOptionError, TargetError, UnknownIdError
from ndsampler.sampler._index import DatasetIndex
from ndsampler.sampler._target import resolve_target


@pytest.fixture(scope='module')
def img_index(shapes8):
    return DatasetIndex(shapes8)


@pytest.fixture(scope='module')
def vid_index(vidshapes_msi):
    return DatasetIndex(vidshapes_msi)


def test_whole_image_when_no_region(img_index, shapes8):
    tr = resolve_target({'image_id': 2}, img_index)
    img = shapes8.imgs[2]
    assert tr['gid'] == 2
    assert tr['space_slice'] == (slice(0, img['height']), slice(0, img['width']))
    assert tr['frame_gids'] == [2]
    assert 'gids' not in tr and 'image_id' not in tr


@pytest.mark.parametrize('window_dims, expect', [
    (None, (6, 5)), ('extent', (6, 5)), ('square', (6, 6)), ((10, 3), (10, 3)), ((1, 10, 3), (10, 3)),
])
def test_centre_windows(img_index, window_dims, expect):
    target = {'gid': 1, 'cx': 5, 'cy': 2, 'width': 5, 'height': 6, 'window_dims': window_dims}
    tr = resolve_target(target, img_index)
    sl_y, sl_x = tr['space_slice']
    assert (sl_y.stop - sl_y.start, sl_x.stop - sl_x.start) == expect
    assert sl_y.start == int(2 - expect[0] / 2 // 1) or sl_y.start == (2 * 2 - expect[0]) // 2


def test_centre_float_error_gives_exact_size(img_index):
    tr = resolve_target({'gid': 1, 'cx': 974.9999999999999, 'cy': 500.5, 'window_dims': (100, 100)}, img_index)
    assert tr['space_slice'] == (slice(450, 550), slice(925, 1025))


def test_slices_2d_and_negative_are_literal(img_index):
    tr = resolve_target({'gid': 1, 'slices': (slice(-3, 4), slice(None, 5))}, img_index)
    assert tr['space_slice'] == (slice(-3, 4), slice(0, 5))
    assert tr['slices'] == tr['space_slice']


def test_aid_fills_image_and_box(img_index, shapes8):
    aid = 3
    ann = shapes8.anns[aid]
    tr = resolve_target({'aid': aid}, img_index)
    x, y, w, h = ann['bbox']
    assert tr['gid'] == ann['image_id']
    assert tr['category_id'] == ann['category_id']
    assert tr['cx'] == pytest.approx(x + w / 2) and tr['cy'] == pytest.approx(y + h / 2)
    sl_y, sl_x = tr['space_slice']
    assert sl_x.stop - sl_x.start == int(-(-w // 1)) and sl_y.stop - sl_y.start == int(-(-h // 1))


def test_aid_keeps_given_size(img_index):
    tr = resolve_target({'aid': 3, 'window_dims': (32, 16)}, img_index)
    sl_y, sl_x = tr['space_slice']
    assert (sl_y.stop - sl_y.start, sl_x.stop - sl_x.start) == (32, 16)


def test_video_forms(vid_index, vidshapes_msi):
    gids = vid_index.video_gids(1)
    assert len(gids) == 3
    whole = resolve_target({'video_id': 1}, vid_index)
    assert whole['gids'] == gids and whole['frame_gids'] == gids
    assert whole['time_slice'] == slice(0, 3)
    three = resolve_target({'vidid': 1, 'slices': (slice(1, 3), slice(0, 8), slice(4, 12))}, vid_index)
    assert three['gids'] == gids[1:3]
    assert three['space_slice'] == (slice(0, 8), slice(4, 12))
    split = resolve_target({'vidid': 1, 'time_slice': slice(1, 3), 'space_slice': (slice(0, 8), slice(4, 12))}, vid_index)
    assert split['slices'] == three['slices'] and split['gids'] == three['gids']
    explicit = resolve_target({'image_ids': gids[1:]}, vid_index)
    assert explicit['vidid'] == 1 and explicit['gids'] == gids[1:]
    assert explicit['time_slice'] == slice(1, 3)


def test_time_padding_uses_neighbours_then_none(vid_index):
    gids = vid_index.video_gids(1)
    tr = resolve_target({'gids': gids[:1], 'pad': (1, 0, 0)}, vid_index)
    assert tr['frame_gids'] == [None, gids[0], gids[1]]
    tr = resolve_target({'vidid': 1, 'time_slice': slice(-1, 2)}, vid_index)
    assert tr['frame_gids'] == [None] + gids[:2]
    assert tr['gids'] == gids[:2]


def test_resolution_is_idempotent(vid_index, img_index):
    for target, index in [({'vidid': 1, 'time_slice': slice(1, 4), 'pad': 1}, vid_index),
                          ({'aid': 2, 'window_dims': 'square', 'pad': (2, 3)}, img_index)]:
        once = resolve_target(target, index)
        twice = resolve_target(once, index)
        for key in ['frame_gids', 'gids', 'space_slice', 'pad', 'gid', 'vidid']:
            assert once.get(key) == twice.get(key), key


def test_inputs_never_mutated(img_index):
    padkw = {'mode': 'constant'}
    target = {'gid': 1, 'cx': 3, 'cy': 3, 'width': 4, 'height': 4, 'padkw': padkw}
    before = copy.deepcopy(target)
    tr = resolve_target(target, img_index, {'pad': 2})
    assert target == before and padkw == {'mode': 'constant'}
    assert tr['padkw'] is not padkw


def test_pad_normalization(img_index, vid_index):
    assert resolve_target({'gid': 1, 'pad': 3}, img_index)['pad'] == ((3, 3), (3, 3))
    assert resolve_target({'gid': 1, 'pad': ((1, 2), 0)}, img_index)['pad'] == ((1, 2), (0, 0))
    assert resolve_target({'vidid': 1, 'pad': (2, 3)}, vid_index)['pad'] == ((0, 0), (2, 2), (3, 3))


@pytest.mark.parametrize('target, error, words', [
    ({'cx': 1, 'cy': 1}, TargetError, ['no image or video']),
    ({'gid': 1, 'cx': 1, 'cy': 1}, TargetError, ['width']),
    ({'gid': 1, 'cx': 1}, TargetError, ['cy']),
    ({'gid': 1, 'window_dims': 'huge', 'cx': 1, 'cy': 1}, InvalidOptionError, ['huge']),
    ({'gid': 1, 'slices': (slice(0, 1),) * 3}, TargetError, ['time axis']),
    ({'gid': 1, 'interpolation': 'bicubic'}, InvalidOptionError, ['bicubic', 'nearest']),
    ({'gid': 1, 'scale': 2, 'dsize': (3, 3)}, TargetError, ['scale', 'dsize']),
    ({'gid': 1, 'pad': -1}, InvalidOptionError, ['pad']),
    ({'gid': 1, 'padkw': {'mode': 'mirror'}}, InvalidOptionError, ['mirror']),
    ({'gid': 1, 'image_id': 2}, TargetError, ['image_id', 'gid']),
    ({'gid': 999}, UnknownIdError, ['999']),
    ({'aid': 99999}, UnknownIdError, ['99999']),
])
def test_bad_targets(img_index, target, error, words):
    with pytest.raises(error) as info:
        resolve_target(target, img_index)
    for word in words:
        assert word in str(info.value)


def test_gids_from_two_videos_rejected(vid_index):
    gid_a = vid_index.video_gids(1)[0]
    gid_b = vid_index.video_gids(2)[0]
    with pytest.raises(TargetError, match='one video'):
        resolve_target({'gids': [gid_a, gid_b]}, vid_index)
