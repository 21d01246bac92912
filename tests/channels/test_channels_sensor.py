"""SensorChanSpec: the full sensor grammar, normalize / concise, streams and sensor matching."""
import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ndsampler.channels import ChannelSpec, FusedChannelSpec, SensorChan, SensorChanSpec
from ndsampler.errors import ChannelSpecError

SCS = SensorChanSpec.coerce


def pairs(spec):
    return [(s.sensor, s.chans.spec) for s in spec.streams()]


def test_streams_expand_groups():
    assert pairs(SCS('S2:(infrared,red|green|blue)')) == [('S2', 'infrared'), ('S2', 'red|green|blue')]
    assert pairs(SCS('(S2,L8):(red|green|blue)')) == [('S2', 'red|green|blue'), ('L8', 'red|green|blue')]
    assert pairs(SCS('S2:red|green,L8:nir')) == [('S2', 'red|green'), ('L8', 'nir')]
    assert pairs(SCS('red|green')) == [('*', 'red|green')]
    assert pairs(SCS('sen:')) == [('sen', '')]
    assert pairs(SCS('')) == []
    stream = SCS('S2:a:2').streams()[0]
    assert isinstance(stream, SensorChan) and stream.chans == FusedChannelSpec.coerce('a.0|a.1')
    assert stream.spec == 'S2:a:2'
    assert SCS('(S1,S2):a,S2:b,c').sensors() == ['S1', 'S2', '*']


def test_coerce_forms_and_errors():
    spec = SCS('S2:red')
    assert SCS(spec) is spec and SensorChanSpec(spec) == spec and SCS('S2:red') is spec
    assert pairs(SCS(ChannelSpec.coerce('a,b|c'))) == [('*', 'a'), ('*', 'b|c')]
    assert pairs(SCS(FusedChannelSpec.coerce('a|b'))) == [('*', 'a|b')]
    assert SCS(2).normalize().spec == '*:u.0|u.1'
    assert str(spec) == 'S2:red' and repr(spec) == "SensorChanSpec('S2:red')"
    with pytest.raises(ChannelSpecError) as info:
        SCS('S2:(')
    assert info.value.position == 4
    with pytest.raises(TypeError):
        SCS(None)


def test_normalize_and_concise():
    spec = SCS('(L8,S2):BGR,WV:BGR,S2:nir,L8:land.0:4')
    assert spec.normalize().spec == 'L8:BGR,S2:BGR,WV:BGR,S2:nir,L8:land.0|land.1|land.2|land.3'
    assert spec.concise().spec == '(L8,S2,WV):BGR,L8:land:4,S2:nir'
    assert SCS('S2:(infrared,red|green|blue)').normalize().spec == 'S2:infrared,S2:red|green|blue'
    assert SCS('red|green').normalize().spec == '*:red|green'
    assert SCS('(*):BGR,*:BGR,*:nir,*:land.0:4').concise().spec == '*:(BGR,nir,land:4)'
    assert SCS('Cam1:(red,blue),Cam2:(blue,green)').concise().spec == '(Cam1,Cam2):blue,Cam1:red,Cam2:green'
    # empty streams cannot be written inside parentheses
    assert SCS('S2:,S2:a,S2:b').concise().spec == 'S2:,S2:(a,b)'
    assert SCS('sen:').concise().spec == 'sen:'


def test_matching_sensor():
    spec = SCS('(S1,S2):(a|b|c),S2:c|d|e,x')
    assert spec.matching_sensor('S2').spec == 'a|b|c,c|d|e,x'
    assert spec.matching_sensor('S1').spec == 'a|b|c,x'
    assert spec.matching_sensor('S3').spec == 'x'
    assert spec.matching_sensor('*').numel() == spec.numel() == 10
    assert isinstance(spec.matching_sensor('S1'), ChannelSpec)
    assert SCS('S2:a').matching_sensor('L8').numel() == 0


def test_equality_is_set_like():
    assert SCS('S2:a,L8:b') == SCS('L8:b,S2:a') == 'L8:b,S2:a,L8:b'
    assert SCS('(S2,L8):a:2') == SCS('S2:a.0|a.1,L8:a.0|a.1')
    assert hash(SCS('S2:a,L8:b')) == hash(SCS('L8:b,S2:a'))
    assert SCS('a|b') == ChannelSpec.coerce('a|b') and SCS('a') != SCS('S2:a')
    assert SCS('a') != 'a,(' and SCS('a') != 3
    clone = pickle.loads(pickle.dumps(SCS('(S2,L8):a:2')))
    assert clone == SCS('(S2,L8):a:2') and clone.spec == '(S2,L8):a:2'


_iden = st.sampled_from(['S2', 'L8', '*', 'WV 3', 'a'])
_chan = st.sampled_from(['red', 'x:3', 'x.1:3', 'B8.2', 'rgb', 'x.0|x.1|x.2', 'a|b']) | st.just('')
_item = st.one_of(
    st.builds('{}:{}'.format, _iden, _chan),
    st.builds(lambda ss, cs: '(' + ','.join(ss) + '):(' + ','.join(cs) + ')',
              st.lists(_iden, min_size=1, max_size=3), st.lists(_chan.filter(bool), min_size=1, max_size=3)),
    _chan.filter(bool),
)
sensor_text = st.lists(_item, min_size=1, max_size=4).map(','.join)


@given(sensor_text)
def test_roundtrips(text):
    spec = SCS(text)
    assert SCS(spec.spec) == spec
    assert spec.normalize().concise() == spec
    assert SCS(spec.concise().spec) == spec
    assert SCS(spec.normalize().spec) == spec
    assert spec.concise().concise().spec == spec.concise().spec
    for sensor in spec.sensors():
        expected = {s.chans for s in spec.streams() if sensor == '*' or s.sensor in (sensor, '*')}
        assert {c for c in expected if c.numel()} == set(spec.matching_sensor(sensor).streams())
