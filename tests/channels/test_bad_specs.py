"""Issue 14, channel rows: values of no accepted type, a cap on the bands a spec expands to, parse memos bounded by bytes."""
import pytest

from ndsampler.channels import ChannelSpec, FusedChannelSpec, SensorChanSpec
from ndsampler.channels._parser import CACHE_BYTES, MAX_BANDS, parse_stream
from ndsampler.errors import ChannelSpecError, ChannelTypeError

CLASSES = [ChannelSpec, FusedChannelSpec, SensorChanSpec]


@pytest.mark.parametrize('cls', CLASSES)
@pytest.mark.parametrize('value', [None, 3.5, b'r', object()])
def test_coerce_of_no_accepted_type(cls, value):
    with pytest.raises(ChannelTypeError, match=f'cannot coerce {type(value).__name__}'):
        cls.coerce(value)
    assert issubclass(ChannelTypeError, TypeError) and issubclass(ChannelTypeError, ValueError)


@pytest.mark.parametrize('cls', CLASSES)
def test_spec_expanding_to_too_many_bands(cls):
    text = ','.join(['a:65536'] * 64)
    with pytest.raises(ChannelSpecError, match=f'more than {MAX_BANDS} bands'):
        cls.coerce(text)
    assert cls.coerce('a:65536').numel() == 65536  # one full range is still allowed


def test_parse_memo_is_bounded_by_bytes():
    for i in range(60):  # each ~5 MB of band names: 300 MB unbounded
        ChannelSpec.coerce(f'b{i}:65000')
    for memo in (parse_stream, ChannelSpec.coerce.__func__.__globals__['_channel_from_str']):
        info = memo.cache_info()
        assert info['bytes'] <= CACHE_BYTES and info['entries'] < 60
    assert ChannelSpec.coerce('b59:65000').numel() == 65000
