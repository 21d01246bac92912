"""convert_image_dtype: the documented ranges between float, unsigned, signed and bool images."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ndsampler.errors import InvalidOptionError
from ndsampler.stack import convert_image_dtype, image_dtype

UINTS = [np.uint8, np.uint16, np.uint32, np.uint64]
SINTS = [np.int8, np.int16, np.int32, np.int64]
FLOATS = [np.float16, np.float32, np.float64]
INTS = UINTS + SINTS


def int_arrays(dtype):
    return hnp.arrays(dtype, hnp.array_shapes(max_dims=3, max_side=5))


def float_arrays(dtype=np.float64):
    return hnp.arrays(dtype, hnp.array_shapes(max_dims=3, max_side=5),
                      elements=st.floats(-3, 3, allow_nan=False, width=np.dtype(dtype).itemsize * 8))


@pytest.mark.parametrize('dst', UINTS + SINTS)
@given(data=st.data())
def test_float_to_int_clips_and_scales(dst, data):
    src = data.draw(st.sampled_from(FLOATS))
    image = data.draw(float_arrays(src))
    out = convert_image_dtype(image, dst)
    info = np.iinfo(dst)
    low = -1.0 if info.min < 0 else 0.0
    unit = np.clip(image.astype(np.float64), low, 1.0)
    assert out.dtype == dst and out.shape == image.shape
    expected = unit * float(info.max)
    # exact for 8/16-bit targets, within float64 resolution for wide integers
    tol = 1 if info.bits <= 16 else max(1.0, float(info.max) * 2 ** -50)
    assert np.all(np.abs(out.astype(np.float64) - expected) <= 0.5 + tol)
    assert out.min(initial=0) >= (-info.max if info.min < 0 else 0)


@pytest.mark.parametrize('src', INTS)
@given(data=st.data())
def test_int_to_float_range(src, data):
    image = data.draw(int_arrays(src))
    out = convert_image_dtype(image, np.float64)
    info = np.iinfo(src)
    assert out.dtype == np.float64
    assert np.all(out <= 1.0) and np.all(out >= (-1.0 if info.min < 0 else 0.0))
    np.testing.assert_allclose(out, np.maximum(image.astype(np.float64) / float(info.max), -1.0), rtol=1e-12)


@pytest.mark.parametrize('dtype', [np.uint8, np.uint16, np.int8, np.int16])
@given(data=st.data())
def test_small_int_float_round_trip_is_exact(dtype, data):
    image = data.draw(int_arrays(dtype))
    info = np.iinfo(dtype)
    image = np.maximum(image, -info.max) if info.min < 0 else image  # -128 has no float pre-image
    for float_dtype in (np.float32, np.float64):
        back = convert_image_dtype(convert_image_dtype(image, float_dtype), dtype)
        np.testing.assert_array_equal(back, image)


@given(image=int_arrays(np.uint8))
def test_uint8_uint16_round_trip(image):
    wide = convert_image_dtype(image, np.uint16)
    np.testing.assert_array_equal(wide, image.astype(np.uint16) * 257)
    np.testing.assert_array_equal(convert_image_dtype(wide, np.uint8), image)


@given(data=st.data())
def test_int_to_int_preserves_order(data):
    src, dst = data.draw(st.sampled_from(INTS)), data.draw(st.sampled_from(INTS))
    image = np.sort(data.draw(int_arrays(src)).ravel())
    out = convert_image_dtype(image, dst)
    assert out.dtype == dst
    assert np.all(np.diff(out.astype(np.float64)) >= 0)
    if image.size and np.iinfo(src).min == 0:
        assert (out[image == np.iinfo(src).max] == np.iinfo(dst).max).all()


@pytest.mark.parametrize('dst', INTS + FLOATS)
def test_bool_maps_to_zero_and_top_of_range(dst):
    out = convert_image_dtype(np.array([False, True]), dst)
    top = np.iinfo(dst).max if np.dtype(dst).kind in 'ui' else 1.0
    np.testing.assert_array_equal(out, np.array([0, top], dtype=dst))


@given(image=float_arrays())
def test_to_bool_thresholds_half(image):
    np.testing.assert_array_equal(convert_image_dtype(image, bool), image > 0.5)


def test_uint8_to_bool_threshold():
    out = convert_image_dtype(np.array([0, 127, 128, 255], dtype=np.uint8), bool)
    np.testing.assert_array_equal(out, [False, False, True, True])


def test_signed_to_unsigned_clips_negatives():
    out = convert_image_dtype(np.array([-128, -1, 0, 127], dtype=np.int8), np.uint8)
    np.testing.assert_array_equal(out, [0, 0, 0, 255])


def test_nan_and_inf_to_int():
    out = convert_image_dtype(np.array([np.nan, np.inf, -np.inf]), np.int16)
    np.testing.assert_array_equal(out, [0, 32767, -32767])


def test_float_to_float_keeps_values_and_copy_flag():
    image = np.array([-2.0, 0.5, 7.0])
    np.testing.assert_array_equal(convert_image_dtype(image, np.float32), image.astype(np.float32))
    assert convert_image_dtype(image, np.float64) is image
    copied = convert_image_dtype(image, np.float64, copy=True)
    assert copied is not image and np.array_equal(copied, image)


@pytest.mark.parametrize('bad', [np.complex64, object, 'U3', 'not-a-dtype'])
def test_non_image_dtypes_are_rejected(bad):
    with pytest.raises(InvalidOptionError, match='dtype'):
        image_dtype(bad)
    with pytest.raises(InvalidOptionError):
        convert_image_dtype(np.zeros(2), bad)
