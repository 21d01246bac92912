"""quantize_image / dequantize round trips and conventions."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ndsampler.errors import InvalidOptionError
from ndsampler.stitch import dequantize, quantization_for, quantize_image

_floats = st.floats(-1e4, 1e4, width=32) | st.just(float("nan"))


@given(data=hnp.arrays(np.float32, hnp.array_shapes(min_dims=1, max_dims=3, max_side=6), elements=_floats),
       dtype=st.sampled_from([np.int16, np.uint8, np.uint16, np.int32]))
def test_round_trip_within_one_step(data, dtype):
    quant, q = quantize_image(data, quantize_dtype=dtype)
    assert quant.dtype == dtype
    assert set(q) == {'orig_min', 'orig_max', 'quant_min', 'quant_max', 'nodata'}
    recon = dequantize(quant, q)
    nan = np.isnan(data)
    np.testing.assert_array_equal(np.isnan(recon), nan)
    step = (q['orig_max'] - q['orig_min']) / (q['quant_max'] - q['quant_min'])
    err = np.abs(recon[~nan].astype(np.float64) - data[~nan])
    assert (err <= step * 0.5 + 1e-6 * max(1.0, abs(q['orig_max']), abs(q['orig_min']))).all()


def test_explicit_range_clips_and_conventions():
    data = np.array([-1.0, 0.0, 0.25, 1.0, 2.0, np.nan])
    quant, q = quantize_image(data, old_min=0, old_max=1, quantize_dtype=np.int16)
    assert q == {'orig_min': 0.0, 'orig_max': 1.0, 'quant_min': 0, 'quant_max': 32767, 'nodata': -9999}
    assert quant.tolist() == [0, 0, 8192, 32767, 32767, -9999]
    assert quantization_for(0, 1, np.int8)['nodata'] == -128
    assert quantization_for(0, 1, np.uint8)['quant_min'] == 1


def test_degenerate_and_empty_inputs():
    quant, q = quantize_image(np.full((2, 2), 5.0))
    assert q['orig_min'] == 5.0 and q['orig_max'] == 6.0
    np.testing.assert_allclose(dequantize(quant, q), 5.0)
    quant, q = quantize_image(np.full((2, 2), np.nan))
    assert (q['orig_min'], q['orig_max']) == (0.0, 1.0) and (quant == q['nodata']).all()


def test_bad_arguments():
    with pytest.raises(InvalidOptionError):
        quantize_image(np.zeros(3), quantize_dtype=np.float32)
    with pytest.raises(InvalidOptionError):
        quantize_image(np.zeros(3), old_min=2, old_max=1)
    with pytest.raises(InvalidOptionError, match='orig_max'):
        dequantize(np.zeros(3, np.int16), {'orig_min': 0})
