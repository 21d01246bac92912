"""Hand-written recursive-descent parser for the sensor / channel grammar (SPEC §3).

It accepts exactly the language of the Lark grammar in the SPEC (an Earley parse of that grammar is the
oracle in the tests) and is several times faster than a Lark parse. Results are cached per string.

Parse result model
------------------
``parse_stream(text)`` returns a tuple of *items*, one per ``stream_item``::

    Item  = (sensors, fused_list, start)   sensors: tuple of sensor names, or None without a sensor prefix
    Fused = tuple of Code                  one early-fused group (``a|b.1|c:3``)
    Code  = (text, bands)                  the code as written and its normalized band names

A ``sensor_lhs`` without a ``channel_rhs`` (``'S2:'``) gives one empty fused group. The empty string is
accepted as "no channels" (zero items), although the grammar itself has no empty ``stream``.

Normalization of one code: ``name`` gives ``(name,)`` (or the kwcoco alias expansion, e.g. ``rgb`` gives
``r, g, b``), ``name.i`` gives ``name.i`` (the integer written without leading zeros), ``name:n`` gives
``name.0 .. name.(n-1)`` and ``name.a:b`` / ``name:a:b`` give ``name.a .. name.(b-1)``.
"""
from __future__ import annotations

from string import ascii_letters, digits
from typing import NoReturn, Optional, Tuple

from ndsampler.channels._cache import bounded_cache
from ndsampler.errors import ChannelSpecError

__all__ = ['GRAMMAR', 'Code', 'Fused', 'Item', 'ALIASES', 'MAX_RANGE', 'MAX_BANDS', 'CACHE_BYTES', 'parse_stream',
           'spec_error', 'count_bands']

#: The grammar of SPEC §3 in Lark syntax (the reference this parser implements; tests use it as an oracle).
GRAMMAR = r'''
?start: stream
IDEN: ("_"|"*"|LETTER) ("_"|" "|"-"|"*"|LETTER|DIGIT)*
chan_single : IDEN
chan_getitem : IDEN "." INT
chan_getslice_0b : IDEN ":" INT
chan_getslice_ab : (IDEN "." INT ":" INT) | (IDEN ":" INT ":" INT)
chan_code : chan_single | chan_getslice_0b | chan_getslice_ab | chan_getitem
fused : chan_code ("|" chan_code)*
channel_rhs : fused | fused_seq
fused_seq : "(" fused ("," fused)* ")"
sensor_seq : "(" IDEN ("," IDEN)* "):"
sensor_lhs : (IDEN ":") | (sensor_seq)
sensor_chan : sensor_lhs channel_rhs?
nosensor_chan : channel_rhs
stream_item : sensor_chan | nosensor_chan
stream : stream_item ("," stream_item)*
%import common.DIGIT
%import common.LETTER
%import common.INT
'''

Code = Tuple[str, Tuple[str, ...]]
Fused = Tuple[Code, ...]
Item = Tuple[Optional[Tuple[str, ...]], Tuple[Fused, ...], int]

#: Single codes that stand for several bands (kwcoco's aliases; kwcoco demo images use ``'rgb'``).
ALIASES = {
    'rgb': ('r', 'g', 'b'),
    'rgba': ('r', 'g', 'b', 'a'),
    'dxdy': ('dx', 'dy'),
    'fxfy': ('fx', 'fy'),
}

#: Largest number of bands one range code may expand to (guards against ``x:999999999``).
MAX_RANGE = 1 << 16
#: Most bands one spec may expand to (all its streams together).
MAX_BANDS = 1 << 16
#: Byte budget of each memo of parsed specs (see :func:`ndsampler.channels._cache.bounded_cache`).
CACHE_BYTES = 32 * 1024 ** 2

_IDEN_START = frozenset('_*' + ascii_letters)
_IDEN_CONT = frozenset('_ -*' + ascii_letters + digits)
_DIGITS = frozenset(digits)


def spec_error(text: str, pos: int, problem: str) -> ChannelSpecError:
    """Build a :class:`ChannelSpecError` that shows ``text`` with a caret under ``pos``.

    The error carries ``.text`` and ``.position`` attributes.

    Example
    -------
    >>> print(spec_error('r||g', 2, "expected a channel name, found '|'"))
    invalid channel spec 'r||g' at position 2: expected a channel name, found '|'
        r||g
          ^
    """
    err = ChannelSpecError(f'invalid channel spec {text!r} at position {pos}: {problem}\n    {text}\n    {" " * pos}^')
    err.text = text
    err.position = pos
    return err


class _Parser:
    """One pass over one string; each method parses one grammar rule starting at ``self.pos``."""

    __slots__ = ('text', 'pos', 'end', 'bands')

    def __init__(self, text: str):
        self.text = text
        self.pos = 0
        self.end = len(text)
        self.bands = 0

    def fail(self, expected: str, pos: Optional[int] = None) -> NoReturn:
        pos = self.pos if pos is None else pos
        found = repr(self.text[pos]) if pos < self.end else 'end of text'
        raise spec_error(self.text, pos, f'expected {expected}, found {found}')

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < self.end else ''

    def scan_iden(self, pos: int) -> int:
        """End of the IDEN starting at ``pos`` (``pos`` itself when none starts there)."""
        text, end = self.text, self.end
        if pos >= end or text[pos] not in _IDEN_START:
            return pos
        pos += 1
        while pos < end and text[pos] in _IDEN_CONT:
            pos += 1
        return pos

    def integer(self) -> int:
        text, start = self.text, self.pos
        pos = start
        while pos < self.end and text[pos] in _DIGITS:
            pos += 1
        if pos == start:
            self.fail('an integer')
        self.pos = pos
        return int(text[start:pos])

    def code(self) -> Code:
        """``chan_code``: ``name``, ``name.i``, ``name:n``, ``name.a:b`` or ``name:a:b``."""
        start = self.pos
        name_end = self.scan_iden(start)
        if name_end == start:
            self.fail('a channel name')
        name = self.text[start:name_end]
        self.pos = name_end
        sep = self.peek()
        if sep == '.':
            self.pos += 1
            first = self.integer()
            if self.peek() != ':':
                return self.text[start:self.pos], (f'{name}.{first}',)
            self.pos += 1
            bounds = (first, self.integer())
        elif sep == ':':
            self.pos += 1
            stop = self.integer()
            if self.peek() == ':':
                self.pos += 1
                bounds = (stop, self.integer())
            else:
                bounds = (0, stop)
        else:
            return name, ALIASES.get(name, (name,))
        if bounds[1] - bounds[0] > MAX_RANGE:
            raise spec_error(self.text, start, f'the range expands to more than {MAX_RANGE} channels')
        self.bands += max(bounds[1] - bounds[0], 0)
        if self.bands > MAX_BANDS:
            raise spec_error(self.text, start, f'the spec expands to more than {MAX_BANDS} bands in all')
        return self.text[start:self.pos], tuple(f'{name}.{i}' for i in range(*bounds))

    def fused(self) -> Fused:
        """``fused``: codes joined by ``|``."""
        codes = [self.code()]
        while self.peek() == '|':
            self.pos += 1
            codes.append(self.code())
        return tuple(codes)

    def fused_seq(self) -> Tuple[Fused, ...]:
        """``fused_seq``: ``(`` fused (``,`` fused)* ``)``."""
        self.pos += 1  # the caller saw '('
        groups = [self.fused()]
        while self.peek() == ',':
            self.pos += 1
            groups.append(self.fused())
        if self.peek() != ')':
            self.fail("'|', ',' or ')'")
        self.pos += 1
        return tuple(groups)

    def sensor_seq(self) -> Optional[Tuple[str, ...]]:
        """``sensor_seq``: ``(`` IDEN (``,`` IDEN)* ``):``; None (position unchanged) when absent."""
        text = self.text
        pos = self.pos + 1
        sensors = []
        while True:
            name_end = self.scan_iden(pos)
            if name_end == pos:
                return None
            sensors.append(text[pos:name_end])
            pos = name_end
            if text.startswith('):', pos):
                self.pos = pos + 2
                return tuple(sensors)
            if not text.startswith(',', pos):
                return None
            pos += 1

    def channel_rhs(self, optional: bool) -> Tuple[Fused, ...]:
        """``channel_rhs``: a fused group or a parenthesized sequence of them."""
        char = self.peek()
        if char == '(':
            return self.fused_seq()
        if optional and char in ('', ','):
            return ((),)
        return (self.fused(),)

    def stream_item(self) -> Item:
        """``stream_item``: ``sensor_lhs channel_rhs?`` or ``channel_rhs``."""
        start = self.pos
        char = self.peek()
        if char == '(':
            sensors = self.sensor_seq()
            if sensors is None:
                return None, self.fused_seq(), start
            return sensors, self.channel_rhs(optional=True), start
        name_end = self.scan_iden(start)
        if name_end == start:
            self.fail("a channel name, a sensor name or '('")
        after = self.text[name_end + 1:name_end + 2]
        if self.text.startswith(':', name_end) and after not in _DIGITS:
            self.pos = name_end + 1
            return (self.text[start:name_end],), self.channel_rhs(optional=True), start
        return None, (self.fused(),), start

    def stream(self) -> Tuple[Item, ...]:
        """``stream``: stream items separated by ``,``, then the end of the text."""
        items = [self.stream_item()]
        while self.peek() == ',':
            self.pos += 1
            items.append(self.stream_item())
        if self.pos < self.end:
            self.fail("'|', ',' or end of text")
        return tuple(items)


def count_bands(items: Tuple[Item, ...]) -> int:
    """Band names in a parsed spec (every stream, repeats counted)."""
    return sum(len(bands) for _, fused_list, _ in items for fused in fused_list for _, bands in fused)


@bounded_cache(CACHE_BYTES, bands=count_bands)
def parse_stream(text: str) -> Tuple[Item, ...]:
    """Parse a full sensor / channel spec (the grammar's ``stream`` rule).

    Parameters
    ----------
    text : str
        The spec, e.g. ``'S2:(infrared,red|green|blue)'``. ``''`` means no channels.

    Returns
    -------
    tuple
        One ``(sensors, fused_list, start)`` item per stream item (see the module docstring).

    Raises
    ------
    ChannelSpecError
        The text does not follow the grammar; the message shows the text and a caret.

    Example
    -------
    >>> parse_stream('S2:red|b:2')
    ((('S2',), ((('red', ('red',)), ('b:2', ('b.0', 'b.1'))),), 0),)
    """
    if not text:
        return ()
    return _Parser(text).stream()
