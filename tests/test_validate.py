"""The input-check primitives: normalized values back, InvalidOptionError naming the value and what is allowed."""
import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

from ndsampler._validate import check_bool, check_choice, check_count, check_int, check_int_tuple, check_real, is_integer
from ndsampler.errors import InvalidOptionError


@pytest.mark.parametrize('value, want', [(3, 3), (np.int64(3), 3), (3.0, 3), (np.float32(-2), -2)])
def test_check_int_normalizes(value, want):
    got = check_int('n', value)
    assert got == want and type(got) is int


@pytest.mark.parametrize('value', [True, np.bool_(False), 3.5, math.nan, math.inf, '3', None, [3], b'3'])
def test_check_int_refuses(value):
    with pytest.raises(InvalidOptionError, match=r"invalid n=.*; allowed: an integer"):
        check_int('n', value)


def test_check_count_and_real_bounds():
    assert check_count('n', 0) == 0
    with pytest.raises(InvalidOptionError, match='invalid n=0; allowed: an integer >= 1'):
        check_count('n', 0, minimum=1)
    assert check_real('r', np.float32(0.5), 0, 1) == 0.5
    assert check_real('r', math.inf, low=0, allow_inf=True) == math.inf
    for bad in (math.nan, math.inf, -0.1, 1.1, True, '0.5'):
        with pytest.raises(InvalidOptionError, match='allowed: a finite number >= 0 and <= 1'):
            check_real('r', bad, 0, 1)


def test_check_bool_choice_tuple():
    assert check_bool('f', np.bool_(True)) is True and check_bool('f', 'auto', ('auto',)) == 'auto'
    with pytest.raises(InvalidOptionError, match="allowed: True, False, 'auto'"):
        check_bool('f', 1, ('auto',))
    assert check_choice('m', 'a', ('a', 'b')) == 'a'
    with pytest.raises(InvalidOptionError):
        check_choice('m', 1, (True,))  # 1 is not True here
    assert check_int_tuple('d', np.array([2, 3]), (2,)) == (2, 3)
    for bad in ('ab', (1, 2, 3), (1, -1), 5, (1.5, 2)):
        with pytest.raises(InvalidOptionError, match='invalid d='):
            check_int_tuple('d', bad, (2,))


@given(st.one_of(st.integers(), st.floats(allow_nan=True), st.booleans(), st.text(max_size=2)))
def test_is_integer_agrees_with_int(value):
    want = not isinstance(value, (bool, str)) and math.isfinite(value) and int(value) == value
    assert is_integer(value) == want
