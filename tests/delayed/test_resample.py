"""Our interpolation rules: a plain per-pixel oracle, exact special cases, and the same pixels under OpenCV 4 and 5."""
import json
import math
import os
import subprocess

import numpy as np
import pytest
from hypothesis import given, strategies as st

from ndsampler.delayed._kernels import INTERPOLATIONS, warp_array
from ndsampler.delayed._resample import resample


def _oracle_weight(interpolation, t):
    """The kernels, written out once more as the SPEC of each rule (distance ``t`` in source pixels)."""
    t = abs(t)
    if interpolation in ('linear', 'area'):
        return max(0.0, 1.0 - t)
    if interpolation == 'cubic':
        a = -0.75
        if t < 1:
            return (a + 2) * t ** 3 - (a + 3) * t ** 2 + 1
        return a * t ** 3 - 5 * a * t ** 2 + 8 * a * t - 4 * a if t < 2 else 0.0
    if t == 0:
        return 1.0
    return 4 * math.sin(math.pi * t) * math.sin(math.pi * t / 4) / (math.pi * t) ** 2 if t < 4 else 0.0


def _oracle_axis(interpolation, c, n):
    """(indices, weights) that sample centre coordinate ``c`` on an axis of ``n`` pixels."""
    if interpolation == 'nearest':
        # nearest centre; an exact tie goes to the lower index
        k = math.ceil(c - 0.5 - 1e-9)
        return [min(max(k, 0), n - 1)], [1.0]
    reach = {'linear': 1, 'area': 1, 'cubic': 2, 'lanczos': 4}[interpolation]
    ks = [k for k in range(math.floor(c) - reach + 1, math.floor(c) + reach + 1)]
    ws = [_oracle_weight(interpolation, c - k) for k in ks]
    total = sum(ws)
    return [min(max(k, 0), n - 1) for k in ks], [w / total for w in ws]


def _oracle(arr, matrix, dsize, interpolation):
    w, h = dsize
    inv = np.linalg.inv(matrix)
    out = np.zeros((h, w, arr.shape[2]))
    for i in range(h):
        for j in range(w):
            x, y, _ = inv @ [j + 0.5, i + 0.5, 1.0]
            iy, wy = _oracle_axis(interpolation, y - 0.5, arr.shape[0])
            ix, wx = _oracle_axis(interpolation, x - 0.5, arr.shape[1])
            for a, wa in zip(iy, wy):
                for b, wb in zip(ix, wx):
                    out[i, j] += wa * wb * arr[a, b]
    return out


affines = st.tuples(
    st.floats(0.3, 3.0), st.floats(0.3, 3.0), st.floats(-4, 4), st.floats(-4, 4),
    st.sampled_from([0.0, 0.0, 0.2, -0.7]),
)


@given(affine=affines, interpolation=st.sampled_from(INTERPOLATIONS), seed=st.integers(0, 2 ** 16))
def test_resample_matches_the_per_pixel_oracle(affine, interpolation, seed):
    sx, sy, tx, ty, theta = affine
    c, s = math.cos(theta), math.sin(theta)
    matrix = np.array([[sx * c, -sy * s, tx], [sx * s, sy * c, ty], [0, 0, 1]])
    arr = np.random.default_rng(seed).random((7, 9, 2))
    dsize = (6, 5)
    got = resample(arr, matrix, dsize, interpolation)
    want = _oracle(arr, matrix, dsize, interpolation)
    assert got.shape == (5, 6, 2) and got.dtype == np.float64
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


def test_nearest_downscale_by_two_takes_every_other_pixel_from_the_first():
    arr = np.arange(10 * 12 * 3, dtype=np.uint8).reshape(10, 12, 3)
    got = resample(arr, np.diag([0.5, 0.5, 1.0]), (6, 5), 'nearest')
    np.testing.assert_array_equal(got, arr[::2, ::2])


@pytest.mark.parametrize('interpolation', INTERPOLATIONS)
@pytest.mark.parametrize('dtype', [np.uint8, np.int16, np.float32])
def test_integer_translation_is_an_exact_copy(interpolation, dtype):
    arr = (np.random.default_rng(1).random((9, 11, 3)) * 200).astype(dtype)
    matrix = np.array([[1.0, 0, -2], [0, 1, -3], [0, 0, 1]])
    got = resample(arr, matrix, (7, 5), interpolation)
    assert got.dtype == arr.dtype
    np.testing.assert_array_equal(got, arr[3:8, 2:9])


@pytest.mark.parametrize('interpolation', ['linear', 'cubic', 'lanczos'])
def test_a_nan_outside_the_kernels_nonzero_taps_does_not_leak(interpolation):
    arr = np.arange(3 * 4, dtype=np.float32).reshape(3, 4, 1)
    arr[2, 3] = np.nan
    # samples on pixel centres: every neighbour tap has weight 0
    got = resample(arr, np.eye(3), (4, 3), interpolation)
    np.testing.assert_array_equal(got, arr)
    # a half-pixel shift reads two rows; only outputs whose taps weigh the NaN become NaN
    shifted = resample(arr, np.array([[1.0, 0, 0], [0, 1, -0.5], [0, 0, 1]]), (4, 3), 'linear')
    assert np.isnan(shifted[:, 3, 0]).tolist() == [False, True, True]
    assert not np.isnan(shifted[:, :3]).any()


def test_integer_results_round_and_saturate():
    arr = np.array([[[0], [255]]], dtype=np.uint8)
    # half-way between 0 and 255 is 127.5: rounds half to even
    got = resample(arr, np.array([[1.0, 0, -0.5], [0, 1, 0], [0, 0, 1]]), (1, 1), 'linear')
    assert got[0, 0, 0] == 128
    # cubic overshoots past 255 next to a step; the result saturates instead of wrapping
    step = np.array([[[0], [0], [255], [255], [255]]], dtype=np.uint8)
    up = resample(step, np.diag([4.0, 1.0, 1.0]), (20, 1), 'cubic')
    assert up.max() == 255 and up.min() == 0


#: Inputs that exercise every interpolation, with and without antialiasing, on two dtypes.
_CASES = [(interp, dtype, name) for interp in INTERPOLATIONS for dtype in ('uint8', 'float32')
          for name in ('down', 'up', 'rotate')]


def _case_outputs() -> dict[str, np.ndarray]:
    """warp_array over :data:`_CASES` (runs in this process and in the other-OpenCV venv)."""
    matrices = {
        'down': np.array([[0.37, 0, 0.2], [0, 0.41, -0.3], [0, 0, 1]]),
        'up': np.array([[2.6, 0, 0.7], [0, 3.1, -1.2], [0, 0, 1]]),
        'rotate': np.array([[0.9, -0.4, 6], [0.4, 0.9, -3], [0, 0, 1]]),
    }
    base = np.random.default_rng(7).random((53, 61, 3)) * 250
    out = {}
    for interp, dtype, name in _CASES:
        arr = base.astype(dtype)
        out[f'{interp}-{dtype}-{name}'] = warp_array(arr, matrices[name], (40, 37), interp, True, 0)
    return out


_OTHER_OPENCV = 'NDSAMPLER_OTHER_OPENCV_PYTHON'


def test_same_pixels_with_the_other_opencv_major(tmp_path):
    """``make test`` builds a venv that differs from ours only in its OpenCV major version; both agree exactly."""
    python = os.environ.get(_OTHER_OPENCV)
    if not python:
        pytest.skip(f'{_OTHER_OPENCV} is not set (make test sets it to a venv with the other OpenCV major)')
    out_path = tmp_path / 'other.npz'
    script = (
        'import sys, json, cv2, numpy as np\n'
        f'sys.path.insert(0, {os.path.dirname(__file__)!r})\n'
        'import test_resample as t\n'
        f'np.savez({str(out_path)!r}, **t._case_outputs())\n'
        'print(json.dumps(cv2.__version__))\n'
    )
    proc = subprocess.run([python, '-c', script], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    import cv2
    other_version = json.loads(proc.stdout.strip().splitlines()[-1])
    assert other_version.split('.')[0] != cv2.__version__.split('.')[0], (other_version, cv2.__version__)
    theirs = np.load(out_path)
    ours = _case_outputs()
    assert sorted(theirs.files) == sorted(ours)
    for key, arr in ours.items():
        np.testing.assert_array_equal(arr, theirs[key], err_msg=f'{key}: OpenCV {other_version} vs {cv2.__version__}')

