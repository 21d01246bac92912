"""Random channel spec text: a spec that parses round-trips through its string, anything else is ChannelSpecError."""
import time

from hypothesis import given, strategies as st

from fuzz_settings import CALL_LIMIT_S, FUZZ
from ndsampler.channels import ChannelSpec, FusedChannelSpec, SensorChanSpec
from ndsampler.errors import ChannelSpecError

spec_text = st.text(alphabet='rgb:.|,()*S2 0123456789u', max_size=24)


@FUZZ
@given(text=spec_text)
def test_random_spec_text_round_trips_or_is_a_spec_error(text):
    for cls in (ChannelSpec, FusedChannelSpec, SensorChanSpec):
        start = time.perf_counter()
        try:
            spec = cls.coerce(text)
        except ChannelSpecError:
            continue
        finally:
            assert time.perf_counter() - start < CALL_LIMIT_S
        assert cls.coerce(spec.spec).spec == spec.spec
        if cls is not SensorChanSpec:
            assert cls.coerce(spec.spec).as_list() == spec.as_list()


@FUZZ
@given(value=st.one_of(st.none(), st.floats(), st.binary(max_size=3), st.integers(-3, 70000), st.booleans(),
                       st.lists(st.text(alphabet='rgb|:3', max_size=4), max_size=3)))
def test_any_value_is_a_spec_or_a_spec_error(value):
    for cls in (ChannelSpec, FusedChannelSpec, SensorChanSpec):
        try:
            cls.coerce(value)
        except ChannelSpecError:
            pass
