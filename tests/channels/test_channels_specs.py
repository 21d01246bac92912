"""FusedChannelSpec and ChannelSpec: coercion, normalize / concise, lookup, set algebra, value semantics."""
import pickle

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ndsampler.channels import ALL_CHANNELS, ChannelSpec, FusedChannelSpec, SensorChanSpec
from ndsampler.errors import ChannelSpecError, UnknownChannelError

FCS = FusedChannelSpec.coerce
CS = ChannelSpec.coerce


# -- FusedChannelSpec --------------------------------------------------------------------------------
def test_fused_coerce_forms():
    spec = FCS('r|g|b')
    assert spec.spec == 'r|g|b' and str(spec) == 'r|g|b'
    assert repr(spec) == "FusedChannelSpec('r|g|b')"
    assert FCS(['r', 'g', 'b']) == spec
    assert FCS(spec) is spec
    assert FusedChannelSpec(spec) == spec and FusedChannelSpec('r|g|b') == spec
    assert FCS(CS('r|g|b')) == spec
    assert FCS(3).as_list() == ['u.0', 'u.1', 'u.2']
    assert FCS(3).spec == 'u:3'
    assert FCS(0).numel() == 0
    assert FCS('').numel() == 0 and FCS('').spec == ''
    assert FCS('*:a|b') == 'a|b' and FCS('*:a|b').spec == 'a|b'
    assert FCS('(a|b)').spec == 'a|b'


def test_fused_coerce_is_cached():
    assert FCS('B1|B8.0:3') is FCS('B1|B8.0:3')
    assert FCS(4) is FCS(4)


@pytest.mark.parametrize('bad, where', [
    ('a,b', 1), ('(a,b)', 0), ('S2:red', 0), ('r||g', 2), ('1abc', 0),
])
def test_fused_coerce_errors(bad, where):
    with pytest.raises(ChannelSpecError) as info:
        FCS(bad)
    assert info.value.position == where


def test_fused_coerce_bad_types():
    with pytest.raises(ChannelSpecError, match='-1'):
        FCS(-1)
    with pytest.raises(ChannelSpecError):
        FCS(True)
    with pytest.raises(TypeError, match='NoneType'):
        FCS(None)
    with pytest.raises(TypeError):
        FCS(2.5)
    with pytest.raises(ChannelSpecError, match='2 late-fused streams'):
        FCS(CS('a,b'))


def test_fused_normalize_concise():
    spec = FCS('rgb:3')
    assert spec.normalize().spec == 'rgb.0|rgb.1|rgb.2'
    assert spec.normalize().concise().spec == 'rgb:3'
    assert FCS('x.2|x.3').concise().spec == 'x.2:4'
    assert FCS('B:1:11').normalize().numel() == 10
    long = FCS('b|a|a.0|a.1|a.2|a.5|c|a.8|a.9|b.0:3|c.0')
    assert long.concise().spec == 'b|a|a:3|a.5|c|a.8:10|b:3|c.0'
    assert long.concise().normalize() == long
    normal = FCS('a|b')
    assert normal.normalize() is normal and normal.concise() is normal


def test_fused_sizes_and_codes():
    spec = FCS('B1|B8.0:3|rgb')
    assert len(spec) == spec.numel() == 7
    assert spec.parsed == spec.code_list() == ['B1', 'B8.0:3', 'rgb']
    assert spec.as_list() == ['B1', 'B8.0', 'B8.1', 'B8.2', 'r', 'g', 'b']
    assert spec.as_set() == {'B1', 'B8.0', 'B8.1', 'B8.2', 'r', 'g', 'b'}
    assert list(spec) == spec.as_list()
    assert spec.streams() == [spec] and spec.fuse() is spec


def test_fused_indexing():
    spec = FCS('a|b:3|c')
    assert spec[0] == 'a' and isinstance(spec[0], FusedChannelSpec)
    assert spec[-1].spec == 'c'
    assert spec[1:3].spec == 'b.0|b.1'
    assert spec[[4, 0]].spec == 'c|a'
    assert spec[np.array([1, 2])].spec == 'b.0|b.1' and spec[np.int64(0)].spec == 'a'
    with pytest.raises(IndexError):
        spec[5]
    assert spec.index('b.2') == 3
    with pytest.raises(UnknownChannelError, match="'nir'"):
        spec.index('nir')
    assert spec.indices('c|b.0|nir') == [4, 1, None]
    assert spec.indices(['a']) == [0]


def test_fused_membership():
    spec = FCS('rgb|disparity|flow:2')
    assert 'disparity' in spec and 'r' in spec and 'flow.1' in spec
    assert 'gray' not in spec
    assert 'r|b' in spec and 'flow:2' in spec and FCS('g|flow.0') in spec
    assert 'r|gray' not in spec
    assert 'r,g' in spec  # streams are flattened
    assert ['r', 'g'] in spec and ['r', 'x'] not in spec
    assert 'bad||spec' not in spec and None not in spec


def test_fused_set_algebra():
    spec = FCS('rgb|disparity|flowx|flowy')
    assert spec.intersection('b|r|XX').spec == 'r|b'        # self's order
    assert spec.difference('r|flowx').spec == 'g|b|disparity|flowy'
    assert spec.union('XX|r|YY').spec == 'r|g|b|disparity|flowx|flowy|XX|YY'
    assert (spec & 'g') == 'g' and (spec - 'g').numel() == 5 and (spec | 'Z').numel() == 7
    assert FCS('a.0:3').difference({'a.0'}).spec == 'a.1|a.2'
    assert FCS('a').difference({'a'}).numel() == 0
    assert FCS('a:2').union({'z', 'y'}).spec == 'a.0|a.1|y|z'
    assert FCS('r|g').issubset('r|g|b') and FCS('r|g|b').issuperset('g')
    assert spec.intersection(CS('r,flowy')).spec == 'r|flowy'


def test_fused_equality_and_hash():
    assert FCS('a:3') == 'a.0|a.1|a.2' == FCS('a.0:3')
    assert hash(FCS('a:3')) == hash(FCS('a.0|a.1|a.2')) == hash('a.0|a.1|a.2')
    assert FCS('a|b') != FCS('b|a')
    assert FCS('a|b') != 'a,b' and FCS('a') != 3 and FCS('a') != None  # noqa: E711
    assert FCS('a|b') == ['a', 'b']
    assert len({FCS('x:2'), FCS('x.0|x.1')}) == 1


def test_as_path():
    assert FCS('red|B8.0|B8.1').as_path() == 'red+B8..2'
    assert FCS('a:3').as_path() == FCS('a.0|a.1|a.2').as_path()
    for text in ['a b|c', 'x*', '', 'v' * 200]:
        path = FCS(text).as_path()
        assert path and len(path) <= 96 and all(ch.isalnum() or ch in '_.+,-' for ch in path)
    assert FCS('a b').as_path() != FCS('a_b').as_path() != FCS('a|b').as_path()


def test_pickle_roundtrip():
    for obj in [FCS('a|b:3'), CS('a,b|c:2'), FCS(2)]:
        clone = pickle.loads(pickle.dumps(obj))
        assert clone == obj and clone.spec == obj.spec


def test_all_channels_is_not_a_spec():
    assert ALL_CHANNELS == '<all>'
    with pytest.raises(ChannelSpecError):
        FCS(ALL_CHANNELS)


# -- ChannelSpec -------------------------------------------------------------------------------------
def test_channel_coerce_forms():
    spec = CS('b1|b2|b3,m.0:4|x1|x2,x.3|x.4|x.5')
    assert [s.spec for s in spec.streams()] == ['b1|b2|b3', 'm.0:4|x1|x2', 'x.3|x.4|x.5']
    assert CS(spec) is spec and ChannelSpec(spec) == spec
    assert CS(FCS('a|b')).streams() == [FCS('a|b')]
    assert CS(['a|b', FCS('c'), 'd,e']).spec == 'a|b,c,d,e'
    assert CS(2).spec == 'u:2' and CS(2).numel() == 2
    assert CS('').streams() == [] and CS('').numel() == 0
    assert CS('(a,b|c)').streams() == [FCS('a'), FCS('b|c')]
    assert CS('*:(a,b)').streams() == [FCS('a'), FCS('b')]
    assert CS('a,b') is CS('a,b')
    assert CS('r,r:0').streams() == [FCS('r')] and CS('*:').streams() == [] and CS(0).streams() == []
    with pytest.raises(ChannelSpecError, match='sensor prefix') as info:
        CS('a,S2:b')
    assert info.value.position == 2
    with pytest.raises(TypeError):
        CS(None)


def test_channel_mapping_api():
    spec = CS('rgb|ir,B:3')
    assert list(spec.keys()) == ['rgb|ir', 'B:3']
    assert list(spec.values()) == [FCS('r|g|b|ir'), FCS('B:3')]
    assert dict(spec.items())['B:3'].numel() == 3
    assert spec.parse() == {'rgb|ir': ['r', 'g', 'b', 'ir'], 'B:3': ['B.0', 'B.1', 'B.2']}
    assert spec.numel() == 7
    assert spec.fuse().spec == 'rgb|ir|B:3'
    assert CS('a|b').fuse() is CS('a|b').streams()[0]
    assert spec.as_list() == ['r', 'g', 'b', 'ir', 'B.0', 'B.1', 'B.2']
    assert CS('a|b').code_list() == ['a', 'b']
    with pytest.raises(ChannelSpecError):
        spec.code_list()


def test_channel_normalize_concise():
    spec = CS('b1|b2,b3|rgb,B:3')
    assert spec.normalize().spec == 'b1|b2,b3|r|g|b,B.0|B.1|B.2'
    assert CS('b1|b2,b3|rgb|B.0,B.1|B.2').concise().spec == 'b1|b2,b3|r|g|b|B.0,B.1:3'
    assert spec.normalize().concise() == spec
    assert spec.as_path() == 'b1+b2,b3+r+g+b,B..3'


def test_channel_set_algebra():
    spec = CS('rgb|disparity,flowx|r|flowy')
    assert spec.difference('rgb').spec == 'disparity,flowx|flowy'
    assert spec.difference('flowx').spec == 'r|g|b|disparity,r|flowy'
    assert CS('r|g|b|disparity,flowx|r|flowy').intersection('r|g|b').spec == 'r|g|b,r'
    assert spec.intersection('flowx').spec == 'flowx'
    assert spec.union('rgb').spec == 'r|g|b|disparity,flowx|r|flowy,r|g|b'
    assert spec.union('rgb').numel() == 10
    assert (CS('a|b,c|d') - {'a', 'b'}).spec == 'c|d'
    assert (CS('a|b,c|d') - 'c|d' - 'a|b').numel() == 0
    assert (CS('a,b') & 'b') == 'b' and (CS('a') | 'b') == 'a,b'


def test_channel_membership_equality_hash():
    spec = CS('rgb,disparity,flowx|flowy')
    assert 'disparity' in spec and 'r|flowy' in spec and 'gray' not in spec
    assert CS('a:2,c') == 'a.0|a.1,c' == CS(['a.0|a.1', 'c'])
    assert CS('a,c') != CS('c,a') and CS('a|c') != CS('a,c')
    assert CS('a|b') == FCS('a|b') and FCS('a|b') == CS('a|b')
    assert hash(CS('a|b')) == hash(FCS('a|b'))
    assert hash(CS('a:2,c')) == hash(CS('a.0|a.1,c'))
    assert CS('a') != 'a,,' and CS('a') != 1.5


# -- properties ----------------------------------------------------------------------------------------
_name = st.sampled_from(['r', 'g', 'b', 'nir', 'B8', 'x', 'rgb', 'a b', '*'])
_code = st.one_of(
    _name,
    st.builds('{}.{}'.format, _name, st.integers(0, 6)),
    st.builds('{}:{}'.format, _name, st.integers(0, 4)),
    st.builds('{}.{}:{}'.format, _name, st.integers(0, 4), st.integers(0, 7)),
    st.builds('{}:{}:{}'.format, _name, st.integers(0, 4), st.integers(0, 7)),
)
fused_text = st.lists(_code, min_size=1, max_size=5).map('|'.join)
channel_text = st.lists(fused_text, min_size=1, max_size=3).map(','.join)


@given(fused_text)
def test_fused_spec_roundtrips(text):
    spec = FCS(text)
    assert FCS(spec.spec) == spec
    assert spec.normalize().concise() == spec
    assert spec.concise().normalize() == spec.normalize()
    assert FCS(spec.normalize().spec).as_list() == spec.as_list()
    assert FCS(spec.concise().spec) == spec
    assert spec.concise().concise().spec == spec.concise().spec
    assert spec.numel() == len(spec.as_list())


@given(fused_text, fused_text)
def test_fused_set_algebra_properties(text_a, text_b):
    a, b = FCS(text_a), FCS(text_b)
    inter, diff = a.intersection(b), a.difference(b)
    assert inter.numel() + diff.numel() == a.numel()
    assert inter.as_set() == a.as_set() & b.as_set()
    assert diff.as_set() == a.as_set() - b.as_set()
    assert a.union(b).as_set() == a.as_set() | b.as_set()
    assert all(i is not None for i in a.union(b).indices(b))
    assert b.intersection(a) in a


@given(channel_text)
def test_channel_spec_roundtrips(text):
    spec = CS(text)
    assert CS(spec.spec) == spec
    assert spec.normalize().concise() == spec
    assert CS(spec.concise().spec) == spec
    assert SensorChanSpec.coerce(spec).matching_sensor('S2') == spec
    assert spec.numel() == sum(s.numel() for s in spec.streams()) == spec.fuse().numel()
