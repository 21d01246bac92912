"""prepare(): summary, resumability, failures, executors; status(); stale and corrupt frames."""
import os
import pickle
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from frames_helpers import smooth_image, write_tif

from ndsampler.backends import NpyBackend
from ndsampler.delayed.readers import get_reader
from ndsampler.errors import InvalidOptionError, UnknownIdError
from ndsampler.frames import PrepareSummary, SimpleFrames


def _frames(tif_sources, tmp_path, backend='cog', **kw):
    return SimpleFrames({gid: p for gid, (p, _) in tif_sources.items()}, workdir=tmp_path / 'work',
                        backend=backend, **kw)


def _assert_cache_matches(frames, tif_sources):
    for gid, (_, data) in tif_sources.items():
        (fpath,) = frames.cache_fpaths(gid)
        assert frames.backend.validate(fpath)
        np.testing.assert_array_equal(np.asarray(frames.backend.read(fpath)), data)


@pytest.mark.parametrize('backend', ['cog', 'npy'])
def test_prepare_then_resume(tif_sources, tmp_path, backend):
    frames = _frames(tif_sources, tmp_path, backend)
    assert set(frames.status().values()) == {'missing'}
    summary = frames.prepare(progress=False)
    assert isinstance(summary, PrepareSummary) and summary.ok
    assert sorted(summary.converted) == sorted(tif_sources) and summary.bytes_written > 0
    assert summary.mismatched == {} and 'mismatched       0' in str(summary)
    assert set(frames.status().values()) == {'cached'}
    _assert_cache_matches(frames, tif_sources)
    again = frames.prepare(progress=False)
    assert again.converted == [] and sorted(again.already_present) == sorted(tif_sources)
    assert again.bytes_written == 0
    text = str(again)
    assert 'already present' in text and 'converted' in text and f'backend={backend}' in text


def test_prepare_subset_and_layout(tif_sources, tmp_path):
    frames = _frames(tif_sources, tmp_path, {'type': 'cog', 'config': {'compress': 'DEFLATE'}})
    frames.prepare([1, 2], progress=False)
    status = frames.status()
    assert status[1] == status[2] == 'cached' and status[3] == 'missing'
    (fpath,) = frames.cache_fpaths(1)
    rel = os.path.relpath(fpath, tmp_path / 'work')
    parts = rel.split(os.sep)
    assert parts[:3] == ['_cache', 'frames', 'cog'] and parts[3] == frames.backend.config_hash
    assert len(parts[4]) == 2 and parts[5].endswith('.tif')


def test_missing_source_is_reported_others_convert(tif_sources, tmp_path):
    os.unlink(tif_sources[3][0])
    frames = _frames(tif_sources, tmp_path)
    summary = frames.prepare(progress=False)
    assert list(summary.failed) == [3]
    assert 'SourceNotFoundError' in summary.failed[3] and 'src_3.tif' in summary.failed[3]
    assert sorted(summary.converted) == [1, 2, 4, 5, 6]
    assert frames.status()[3] == 'no_source'
    assert 'image 3' in str(summary)


def test_undecodable_source_is_reported(tif_sources, tmp_path):
    bad = tmp_path / 'bad.png'
    bad.write_bytes(b'garbage' * 50)
    paths = {gid: p for gid, (p, _) in tif_sources.items()}
    paths[99] = bad
    summary = SimpleFrames(paths, workdir=tmp_path / 'w', backend='npy').prepare(progress=False)
    assert list(summary.failed) == [99] and 'ConversionError' in summary.failed[99]
    assert 'bad.png' in summary.failed[99] and len(summary.converted) == 6


def test_prepare_with_process_workers(tif_sources, tmp_path):
    frames = _frames(tif_sources, tmp_path)
    summary = frames.prepare(workers=2, progress=False)
    assert summary.ok and len(summary.converted) == 6
    _assert_cache_matches(frames, tif_sources)


def test_prepare_with_given_executor(tif_sources, tmp_path, capsys):
    frames = _frames(tif_sources, tmp_path, 'npy')
    with ThreadPoolExecutor(3) as executor:
        summary = frames.prepare(executor=executor, progress=True)
    assert summary.ok and len(summary.converted) == 6
    assert 'prepare frames' in capsys.readouterr().err
    _assert_cache_matches(frames, tif_sources)


def test_stale_source_is_rebuilt(tif_sources, tmp_path):
    frames = _frames(tif_sources, tmp_path)
    frames.prepare(progress=False)
    src, data = tif_sources[2]
    new = smooth_image(data.shape, 77)
    write_tif(src, new)
    st = os.stat(src)
    os.utime(src, ns=(st.st_atime_ns, st.st_mtime_ns + 10 ** 10))
    assert frames.status()[2] == 'stale'
    frames.invalidate(2)
    summary = frames.prepare(progress=False)
    assert summary.converted == [2]
    tif_sources[2] = (src, new)
    _assert_cache_matches(frames, tif_sources)
    assert set(frames.status().values()) == {'cached'}


def test_truncated_cache_is_detected_and_rebuilt(tif_sources, tmp_path):
    frames = _frames(tif_sources, tmp_path, 'npy')
    frames.prepare(progress=False)
    (fpath,) = frames.cache_fpaths(4)
    with open(fpath, 'r+b') as file:
        file.truncate(os.path.getsize(fpath) // 2)
    assert frames.status()[4] == 'corrupt'
    summary = frames.prepare(progress=False)
    assert summary.converted == [4]
    _assert_cache_matches(frames, tif_sources)


def test_cache_rebuilt_while_open_is_reopened(tif_sources, tmp_path):
    frames = _frames(tif_sources, tmp_path, 'npy')
    frames.prepare(progress=False)
    window = (slice(3, 60), slice(10, 100))
    np.testing.assert_array_equal(frames.load_region(4, window), tif_sources[4][1][window])  # memmap open
    (fpath,) = frames.cache_fpaths(4)
    old_reader = get_reader(fpath)
    with open(fpath, 'r+b') as file:
        file.truncate(os.path.getsize(fpath) // 2)
    assert frames.prepare(progress=False).converted == [4]
    assert get_reader(fpath) is not old_reader, 'the map of the truncated file must not be read'
    np.testing.assert_array_equal(frames.load_image(4), tif_sources[4][1])
    np.testing.assert_array_equal(frames.load_region(4, window), tif_sources[4][1][window])
    np.testing.assert_array_equal(frames.load_delayed(4)[window].finalize(), tif_sources[4][1][window])


def test_pixels_mode_keys_by_content(tif_sources, tmp_path):
    src, data = tif_sources[1]
    twin = write_tif(tmp_path / 'twin.tif', data)
    frames = SimpleFrames({'a': src, 'b': twin}, workdir=tmp_path / 'w', backend='npy', hashid_mode='pixels')
    assert frames.cache_fpaths('a') == frames.cache_fpaths('b')
    summary = frames.prepare(progress=False)
    assert summary.ok and summary.bytes_written == os.path.getsize(frames.cache_fpaths('a')[0])


def test_frames_pickle_without_state(tif_sources, tmp_path):
    frames = _frames(tif_sources, tmp_path, NpyBackend())
    frames.prepare(progress=False)
    clone = pickle.loads(pickle.dumps(frames))
    assert clone.status() == frames.status() and clone.cache_fpaths(1) == frames.cache_fpaths(1)


def test_bad_options_and_ids(tif_sources, tmp_path):
    with pytest.raises(ValueError, match='hashid_mode'):
        _frames(tif_sources, tmp_path, hashid_mode='INODE')
    with pytest.raises(ValueError, match='backend'):
        _frames(tif_sources, tmp_path, backend='zarr')
    with pytest.raises(UnknownIdError, match='42'):
        _frames(tif_sources, tmp_path).status([42])


@pytest.mark.parametrize('workers', [-1, -3, 1.5, True, '2'])
def test_bad_workers_are_rejected_before_any_work(tif_sources, tmp_path, workers):
    frames = _frames(tif_sources, tmp_path)
    with pytest.raises(InvalidOptionError, match=f'workers={workers!r}'):
        frames.prepare(workers=workers, progress=False)
    assert set(frames.status().values()) == {'missing'}
