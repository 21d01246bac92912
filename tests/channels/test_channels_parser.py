"""The hand-written parser against the SPEC §3 grammar: rules, errors, and a Lark (Earley) oracle."""
import functools
import re
from pathlib import Path

import lark
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ndsampler.channels._parser import GRAMMAR, MAX_RANGE, parse_stream
from ndsampler.errors import ChannelSpecError

SPEC_PATH = Path(__file__).resolve().parents[2].parent / 'shared' / 'SPEC.md'
#: The SPEC's grammar block, copied into the repo (comment lines start with //).
GRAMMAR_COPY = Path(__file__).with_name('spec_grammar.lark')


def _grammar_tokens(text):
    return [tok for line in text.splitlines() if not line.lstrip().startswith('//') for tok in line.split()]


def test_grammar_matches_the_spec_copy_in_the_repo():
    assert _grammar_tokens(GRAMMAR_COPY.read_text()) == GRAMMAR.split()


def test_the_repo_copy_matches_spec_md():
    if not SPEC_PATH.exists():
        pytest.skip('SPEC.md is not beside the checkout (the repo copy of its grammar is still checked above)')
    block = re.search(r'```\n(\?start: stream.*?)```', SPEC_PATH.read_text(), re.S).group(1)
    assert block.split() == _grammar_tokens(GRAMMAR_COPY.read_text())


@functools.lru_cache(maxsize=None)
def _oracle() -> lark.Lark:
    # Earley parses the grammar's exact language; Lark's LALR mode resolves a shift/reduce conflict
    # and so rejects some valid strings such as '(a,b)'.
    return lark.Lark(GRAMMAR, start='start', parser='earley', propagate_positions=True)


def _children(tree, name):
    return [c for c in tree.children if isinstance(c, lark.Tree) and c.data == name]


def oracle_structure(text):
    """Parse with Lark and return ``((sensors | None, ((code_text, ...), ...)), ...)``."""
    tree = _oracle().parse(text)

    def fused(node):
        return tuple(text[code.meta.start_pos:code.meta.end_pos] for code in _children(node, 'chan_code'))

    def rhs(node):
        inner = node.children[0]
        if inner.data == 'fused':
            return (fused(inner),)
        return tuple(fused(f) for f in _children(inner, 'fused'))

    items = []
    for item in _children(tree, 'stream_item'):
        (kind,) = item.children
        if kind.data == 'nosensor_chan':
            items.append((None, rhs(kind.children[0])))
            continue
        lhs = kind.children[0]
        tokens = [t for t in lhs.scan_values(lambda v: isinstance(v, lark.Token) and v.type == 'IDEN')]
        rhs_nodes = _children(kind, 'channel_rhs')
        items.append((tuple(map(str, tokens)), rhs(rhs_nodes[0]) if rhs_nodes else ((),)))
    return tuple(items)


def our_structure(text):
    return tuple((sensors, tuple(tuple(code for code, _ in f) for f in fused))
                 for sensors, fused, _ in parse_stream(text))


def _accepts(fn, text):
    try:
        return True, fn(text)
    except (ChannelSpecError, lark.exceptions.LarkError):
        return False, None


# -- strategies that follow the grammar's rules ------------------------------------------------------
_LETTERS = 'abcxyzRGB'
iden = st.builds(lambda a, b: a + b, st.sampled_from(list(_LETTERS + '_*')),
                 st.text(alphabet=_LETTERS + '_ -*019', max_size=4))
integer = st.integers(0, 12).map(str) | st.sampled_from(['007', '10'])
chan_code = st.one_of(
    iden,
    st.builds('{}.{}'.format, iden, integer),
    st.builds('{}:{}'.format, iden, integer),
    st.builds('{}.{}:{}'.format, iden, integer, integer),
    st.builds('{}:{}:{}'.format, iden, integer, integer),
)
fused = st.lists(chan_code, min_size=1, max_size=3).map('|'.join)
fused_seq = st.lists(fused, min_size=1, max_size=3).map(lambda fs: '(' + ','.join(fs) + ')')
channel_rhs = fused | fused_seq
sensor_seq = st.lists(iden, min_size=1, max_size=3).map(lambda ss: '(' + ','.join(ss) + '):')
sensor_lhs = iden.map('{}:'.format) | sensor_seq
sensor_chan = st.builds(lambda lhs, rhs: lhs + rhs, sensor_lhs, st.just('') | channel_rhs)
stream_item = sensor_chan | channel_rhs
stream = st.lists(stream_item, min_size=1, max_size=3).map(','.join)
# near-misses: arbitrary strings over the grammar's characters, and grammar strings cut or extended
near_miss = (st.text(alphabet='ab1_*.:|,() -', min_size=1, max_size=10)
             | stream.map(lambda s: s[:-1]).filter(bool) | stream.map(lambda s: s + '|') | stream.map(lambda s: s + ':,'))


@given(stream)
def test_oracle_agrees_on_grammar_strings(text):
    assert our_structure(text) == oracle_structure(text)


@given(near_miss)
def test_oracle_agrees_on_near_misses(text):
    assert _accepts(our_structure, text) == _accepts(oracle_structure, text)


# -- each rule -----------------------------------------------------------------------------------------
@pytest.mark.parametrize('text, bands', [
    ('red', ('red',)),                                   # chan_single
    ('B8.3', ('B8.3',)),                                 # chan_getitem
    ('x.007', ('x.7',)),                                 # integers are normalized
    ('rgb:3', ('rgb.0', 'rgb.1', 'rgb.2')),              # chan_getslice_0b
    ('x.2:4', ('x.2', 'x.3')),                           # chan_getslice_ab with '.'
    ('x:2:4', ('x.2', 'x.3')),                           # chan_getslice_ab with ':'
    ('x:0', ()),                                         # empty range
    ('rgb', ('r', 'g', 'b')),                            # kwcoco alias
    ('a b-c*', ('a b-c*',)),                             # spaces, dashes and stars inside names
    ('_x|*', ('_x', '*')),
])
def test_code_rules(text, bands):
    ((sensors, (fused,), start),) = parse_stream(text)
    assert sensors is None and start == 0
    assert tuple(b for _, code_bands in fused for b in code_bands) == bands


def test_stream_rules():
    assert our_structure('S2:(infrared,red|green|blue)') == ((('S2',), (('infrared',), ('red', 'green', 'blue'))),)
    assert our_structure('(S2,L8):(red|green|blue)') == ((('S2', 'L8'), (('red', 'green', 'blue'),)),)
    assert our_structure('S2:red|green,L8:nir') == ((('S2',), (('red', 'green'),)), (('L8',), (('nir',),)))
    assert our_structure('red|green') == ((None, (('red', 'green'),)),)
    assert our_structure('S2:,L8:') == ((('S2',), ((),)), (('L8',), ((),)))
    assert our_structure('(a,b)') == ((None, (('a',), ('b',))),)
    assert our_structure('(a):b') == ((('a',), (('b',),)),)
    assert our_structure('S2:3') == ((None, (('S2:3',),)),)  # a digit after ':' makes a range, not a sensor
    assert our_structure('S2:a:3') == ((('S2',), (('a:3',),)),)
    assert parse_stream('') == ()


@pytest.mark.parametrize('text, pos, expected', [
    ('r||g', 2, 'a channel name'),
    ('r|', 2, 'a channel name'),
    (':3', 0, 'a channel name'),
    ('(a,b', 4, "')'"),
    ('S2:(', 4, 'a channel name'),
    ('1abc', 0, 'a channel name'),
    ('a.b', 2, 'an integer'),
    ('a:3:b', 4, 'an integer'),
    ('a b,', 4, 'a channel name'),
    (' r', 0, 'a channel name'),
    ('(a|b):c', 5, 'end of text'),
    ('r,g)', 3, 'end of text'),
])
def test_errors_show_text_and_position(text, pos, expected):
    with pytest.raises(ChannelSpecError) as info:
        parse_stream(text)
    err = info.value
    assert err.position == pos and err.text == text
    message = str(err)
    assert expected in message and repr(text) in message
    assert message.splitlines()[-1] == ' ' * (4 + pos) + '^'
    assert isinstance(err, ValueError)


def test_range_limit():
    parse_stream(f'x:{MAX_RANGE}')
    with pytest.raises(ChannelSpecError, match='more than'):
        parse_stream(f'x:{MAX_RANGE + 1}')


def test_parse_is_cached():
    assert parse_stream('a|b:3,S2:c') is parse_stream('a|b:3,S2:c')
