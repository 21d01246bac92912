"""Stitcher: weighted means, clipping, NaN handling, edge weights, disk canvases, torch devices."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ndsampler.errors import InvalidOptionError, StitchingError, WindowError
from ndsampler.stitch import Stitcher, edge_weights


def _grid_windows(h, w, wh, ww, step):
    for y in range(0, h, step):
        for x in range(0, w, step):
            yield (slice(y, y + wh), slice(x, x + ww))


@given(h=st.integers(1, 40), w=st.integers(1, 40), win=st.integers(1, 16), step=st.integers(1, 16),
       kind=st.sampled_from([False, 'ramp', 'gaussian']))
def test_overlapping_identity_windows_reproduce_the_canvas(h, w, win, step, kind):
    step = min(step, win)
    rng = np.random.default_rng(0)
    truth = rng.random((h, w, 2)).astype(np.float32)
    padded = np.pad(truth, ((0, win), (0, win), (0, 0)))
    s = Stitcher((h, w, 2))
    for sl in _grid_windows(h, w, win, win, step):
        s.add(sl, padded[sl], downweight_edges=kind)
    np.testing.assert_allclose(s.finalize(), truth, rtol=1e-5, atol=1e-6)


def test_weighted_mean_and_nan_where_nothing_added():
    s = Stitcher((3, 4))
    s.add((slice(0, 2), slice(0, 2)), np.full((2, 2), 1.0), weights=1.0)
    s.add((slice(0, 2), slice(1, 3)), np.full((2, 2), 4.0), weights=np.full((2, 2), 3.0))
    out = s.finalize()
    np.testing.assert_allclose(out[0], [1.0, (1 + 12) / 4, 4.0, np.nan])
    assert np.isnan(out[2]).all()
    assert out.dtype == np.float32


def test_slices_partly_outside_are_clipped_with_the_data():
    s = Stitcher((4, 4))
    data = np.arange(36, dtype=np.float32).reshape(6, 6)
    s.add((slice(-1, 5), slice(-2, 4)), data)
    out = s.finalize()
    np.testing.assert_array_equal(out, data[1:5, 2:6])


def test_fully_outside_window_is_ignored():
    s = Stitcher((4, 4))
    s.add((slice(10, 12), slice(0, 2)), np.ones((2, 2)))
    assert np.isnan(s.finalize()).all()


def test_shape_mismatch_names_both_shapes():
    s = Stitcher((8, 8, 3))
    with pytest.raises(StitchingError, match=r'\(3, 4, 3\).*\(4, 4, 3\)'):
        s.add((slice(0, 4), slice(0, 4)), np.zeros((3, 4, 3)))
    with pytest.raises(StitchingError, match='(4, 4, 2)'):
        s.add((slice(0, 4), slice(0, 4)), np.zeros((4, 4, 2)))
    with pytest.raises(StitchingError, match='weights'):
        s.add((slice(0, 4), slice(0, 4)), np.zeros((4, 4, 3)), weights=np.ones((3, 3)))
    with pytest.raises(ValueError):  # StitchingError is a ValueError
        s.add((slice(0, 2), slice(0, 2)), np.zeros(4))


def test_bad_arguments():
    with pytest.raises(WindowError):
        Stitcher((0, 3))
    with pytest.raises(InvalidOptionError):
        Stitcher((3, 3), dtype='int32')
    with pytest.raises(InvalidOptionError):
        Stitcher((3, 3), device='not-a-device')
    with pytest.raises(InvalidOptionError):
        Stitcher((3, 3), device='cpu', memmap=True)
    s = Stitcher((3, 3))
    with pytest.raises(WindowError):
        s.add((slice(0, 3, 2), slice(0, 3)), np.zeros((2, 3)))
    with pytest.raises(InvalidOptionError):
        s.add((slice(0, 3), slice(0, 3)), np.zeros((3, 3)), downweight_edges='cosine')


@pytest.mark.parametrize('shape', [(0, 3), (3, -2), (2.5, 3), (3, 3, 1.0), (True, 3), (3,), (2, 2, 2, 2), 'ab', 5])
def test_bad_shape_is_rejected(shape):
    with pytest.raises(WindowError, match='positive integers'):
        Stitcher(shape)


def test_numpy_integer_shape_is_accepted():
    s = Stitcher(np.array([2, 3], dtype=np.int64))
    assert s.shape == (2, 3) and all(type(d) is int for d in s.shape)


@pytest.mark.parametrize('dtype', ['banana', 'int32', 'uint8', 'complex64', object, 'float128'])
def test_bad_dtype_names_it_and_the_float_dtypes(dtype):
    with pytest.raises(InvalidOptionError, match=r"float16', 'float32', 'float64'") as info:
        Stitcher((3, 3), dtype=dtype)
    assert repr(dtype) in str(info.value)


@pytest.mark.parametrize('bad', [-1.0, -1e-9, np.nan, np.inf, -np.inf])
def test_negative_or_nonfinite_weights_are_rejected(bad):
    s = Stitcher((4, 4))
    with pytest.raises(StitchingError, match='weights must be finite and >= 0') as info:
        s.add((slice(0, 2), slice(0, 2)), np.ones((2, 2)), weights=bad)
    assert f'min={bad!r}' in str(info.value)
    per_pixel = np.ones((2, 2), np.float32)
    per_pixel[1, 0] = bad
    with pytest.raises(StitchingError, match='weights must be finite and >= 0') as info:
        s.add((slice(0, 2), slice(0, 2)), np.ones((2, 2)), weights=per_pixel)
    lowest = np.nan if np.isnan(bad) else float(np.float32(min(bad, 1.0)))
    assert f'min={lowest!r}' in str(info.value)
    s.add((slice(0, 2), slice(0, 2)), np.ones((2, 2)))
    assert np.nansum(s.finalize()) == 4.0, 'rejected adds leave the canvas untouched'


def test_torch_weights_are_checked_on_device():
    torch = pytest.importorskip('torch')
    s = Stitcher((4, 4), device='cpu')
    weights = torch.ones(2, 2)
    weights[0, 1] = -2
    with pytest.raises(StitchingError, match='min=-2.0'):
        s.add((slice(0, 2), slice(0, 2)), torch.ones(2, 2), weights=weights)


def test_zero_weights_are_allowed():
    s = Stitcher((2, 2))
    s.add((slice(0, 2), slice(0, 2)), np.full((2, 2), 5.0), weights=0)
    s.add((slice(0, 2), slice(0, 2)), np.full((2, 2), 1.0), weights=np.array([[0, 1], [1, 1]]))
    out = s.finalize()
    assert np.isnan(out[0, 0]) and (out.ravel()[1:] == 1.0).all()


def test_nan_data_gets_zero_weight():
    s = Stitcher((2, 2, 2))
    a = np.ones((2, 2, 2), np.float32)
    a[0, 0, 1] = np.nan
    s.add((slice(0, 2), slice(0, 2)), a)
    s.add((slice(0, 2), slice(0, 2)), np.full((2, 2, 2), 3.0))
    out = s.finalize()
    np.testing.assert_allclose(out[0, 0], [3.0, 3.0])
    np.testing.assert_allclose(out[1, 1], [2.0, 2.0])


def test_single_channel_canvas_accepts_2d_data():
    s = Stitcher((2, 2, 1))
    s.add((slice(0, 2), slice(0, 2)), np.ones((2, 2)))
    assert s.finalize().shape == (2, 2, 1)


def test_finalize_twice_or_add_after_finalize_raises():
    s = Stitcher((2, 2))
    s.finalize()
    with pytest.raises(StitchingError):
        s.finalize()
    with pytest.raises(StitchingError):
        s.add((slice(0, 1), slice(0, 1)), np.ones((1, 1)))


@pytest.mark.parametrize('kind', ['ramp', 'gaussian'])
def test_edge_weights_favour_the_centre(kind):
    w = edge_weights((9, 12), kind=kind)
    assert w.shape == (9, 12) and w.min() > 0 and w.max() == pytest.approx(1.0, abs=0.05)
    assert w[4, 6] > w[0, 6] and w[4, 6] > w[4, 0]
    np.testing.assert_allclose(w, w[::-1, ::-1])
    assert not w.flags.writeable
    with pytest.raises(InvalidOptionError):
        edge_weights((3, 3), kind='box')
    with pytest.raises(WindowError):
        edge_weights((0, 3))


def test_edge_weights_change_overlap_average():
    s = Stitcher((1, 8))
    s.add((slice(0, 1), slice(0, 8)), np.zeros((1, 8)), downweight_edges=True)
    s.add((slice(0, 1), slice(4, 12)), np.ones((1, 8)), downweight_edges=True)
    out = s.finalize()[0]
    assert out[4] < 0.5 < out[7]  # each window dominates its own interior


@pytest.mark.parametrize('memmap', [True, 'folder'])
def test_memmap_canvas_lives_on_disk_and_is_removed(tmp_path, memmap):
    folder = tmp_path / 'canvas'
    s = Stitcher((50, 40, 2), memmap=folder if memmap == 'folder' else True)
    assert isinstance(s.sums, np.memmap) and isinstance(s.weights, np.memmap)
    paths = s.canvas_paths
    assert len(paths) == 2 and all(p.exists() and p.parent == s.folder for p in paths)
    if memmap == 'folder':
        assert s.folder == folder
    data = np.random.default_rng(1).random((50, 40, 2)).astype(np.float32)
    s.add((slice(0, 30), slice(0, 40)), data[:30])
    s.release_pages()
    s.add((slice(20, 50), slice(0, 40)), data[20:])
    out = s.finalize()
    assert isinstance(out, np.memmap)
    np.testing.assert_allclose(out, data, rtol=1e-6)
    assert not any(p.exists() for p in paths) and s.canvas_paths == []
    assert folder.exists() if memmap == 'folder' else not s.folder.exists()


def test_torch_cpu_device_matches_numpy():
    torch = pytest.importorskip('torch')
    rng = np.random.default_rng(2)
    data = rng.random((10, 10, 3)).astype(np.float32)
    results = []
    for device in ['numpy', 'cpu']:
        s = Stitcher((12, 12, 3), device=device)
        s.add((slice(0, 10), slice(0, 10)), torch.from_numpy(data) if device == 'cpu' else data,
              downweight_edges='gaussian')
        s.add((slice(2, 12), slice(2, 12)), data, weights=np.full((10, 10), 2.0))
        results.append(s.finalize())
    assert isinstance(results[1], torch.Tensor)
    np.testing.assert_allclose(results[1].numpy(), results[0], rtol=1e-6, equal_nan=True)


def test_torch_cuda_device():
    torch = pytest.importorskip('torch')
    if not torch.cuda.is_available():
        pytest.skip('no CUDA device')
    s = Stitcher((4, 4, 2), device='cuda:0')
    s.add((slice(-1, 3), slice(0, 4)), torch.ones((4, 4, 2), device='cuda:0'), downweight_edges=True)
    out = s.finalize()
    assert out.device.type == 'cuda'
    np.testing.assert_allclose(out.cpu().numpy()[:3], 1.0)
    assert torch.isnan(out[3]).all()
