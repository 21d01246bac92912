"""Quantization dicts: delayed_image's defaults for missing keys, our errors for values that make no sense."""
import numpy as np
import pytest

from ndsampler.delayed import DelayedIdentity
from ndsampler.delayed._quantization import coerce_quantization
from ndsampler.errors import InvalidOptionError

DATA = np.array([[0, 51, 102, 255]], dtype=np.uint8)


def test_quant_max_alone_means_zero_to_one():
    node = DelayedIdentity(DATA).dequantize({'quant_max': 255})
    out = node.finalize()[0, :, 0]
    assert out.dtype == node.dtype == np.float32
    np.testing.assert_allclose(out, [0.0, 0.2, 0.4, 1.0], rtol=1e-6)


def test_nodata_with_defaults_is_nan():
    out = DelayedIdentity(DATA).dequantize({'quant_max': 255, 'nodata': 0}).finalize()[0, :, 0]
    assert np.isnan(out[0]) and np.allclose(out[1:], [0.2, 0.4, 1.0])


def test_given_keys_override_defaults():
    q = {'quant_max': 255, 'quant_min': 51, 'orig_min': -1.0, 'orig_max': 3.0}
    out = DelayedIdentity(DATA).dequantize(q).finalize()[0, :, 0]
    np.testing.assert_allclose(out, (DATA[0].astype(np.float64) - 51) * 4 / 204 - 1, rtol=1e-6)


def test_orig_dtype_sets_the_output_dtype():
    node = DelayedIdentity(DATA).dequantize({'quant_max': 255, 'orig_dtype': 'float64'})
    out = node.finalize()
    assert node.dtype == out.dtype == np.float64
    assert out[0, 1, 0] == 51 / 255


def test_unknown_keys_are_kept_and_ignored():
    q = {'quant_max': 255, 'note': 'from a stitcher'}
    node = DelayedIdentity(DATA).dequantize(q)
    assert node.quantization['note'] == 'from a stitcher'
    np.testing.assert_array_equal(node.finalize(), DelayedIdentity(DATA).dequantize({'quant_max': 255}).finalize())


def test_the_input_dict_is_not_changed():
    q = {'quant_max': 255}
    coerce_quantization(q)
    assert q == {'quant_max': 255}


@pytest.mark.parametrize('quantization, match', [
    (None, 'quantization=None'),
    ({'orig_min': 0}, 'quant_max'),
    ({'quant_max': '255'}, r"quantization\['quant_max'\]='255'; allowed: a finite number"),
    ({'quant_max': 255, 'orig_max': float('nan')}, r"orig_max.*finite number"),
    ({'quant_max': 255, 'quant_min': True}, r"quant_min.*finite number"),
    ({'quant_max': 0}, r"quant_max'\]=0; allowed: a number other than quant_min=0"),
    ({'quant_max': 255, 'nodata': 'zero'}, r"nodata.*None or a number"),
    ({'quant_max': 255, 'orig_dtype': 'uint8'}, r"orig_dtype.*float dtype"),
    ({'quant_max': 255, 'orig_dtype': 'no-such-type'}, r"orig_dtype.*float dtype"),
])
def test_nonsense_values_are_refused(quantization, match):
    with pytest.raises(InvalidOptionError, match=match):
        DelayedIdentity(DATA).dequantize(quantization)
