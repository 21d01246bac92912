"""Early-fused (:class:`FusedChannelSpec`) and late-fused (:class:`ChannelSpec`) channel specs.

Both are immutable and interned: coercing the same string twice returns the same object from a cache,
so ``coerce`` on the per-sample hot path costs one dictionary look-up.
"""
from __future__ import annotations

import hashlib
import numbers
import re
from typing import Any, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

from ndsampler.channels._base import SpecBase
from ndsampler.channels._cache import bounded_cache
from ndsampler.channels._parser import CACHE_BYTES, Code, Item, parse_stream, spec_error
from ndsampler.errors import ChannelSpecError, ChannelTypeError, UnknownChannelError

__all__ = ['FusedChannelSpec', 'ChannelSpec', 'ALL_CHANNELS', 'UNNAMED_PREFIX', 'FusedLike', 'ChannelLike']

#: The sampler's "every channel the image has" request. Not a spec: callers test for it before coercing.
ALL_CHANNELS = '<all>'
#: Name of unnamed bands: ``FusedChannelSpec.coerce(3)`` is ``'u:3'``, i.e. ``u.0|u.1|u.2``.
UNNAMED_PREFIX = 'u'

FusedLike = Union[str, int, Sequence[str], 'FusedChannelSpec']
ChannelLike = Union[str, int, 'FusedChannelSpec', 'ChannelSpec', Sequence[Union[str, 'FusedChannelSpec']]]

_PATH_SAFE = re.compile(r'[A-Za-z0-9_.+,-]+')
_PATH_UNSAFE = re.compile(r'[^A-Za-z0-9_.+,-]')
_PATH_MAXLEN = 96


def _path_safe(concise_spec: str) -> str:
    """A file-name-safe rendering of a concise spec: readable and injective.

    ``|`` becomes ``+`` and ``:`` becomes ``..`` (neither appears in a valid spec otherwise); text with
    other characters (spaces, ``*``) or longer than 96 characters is cleaned and suffixed with a hash.
    """
    text = concise_spec.replace('|', '+').replace(':', '..')
    if len(text) <= _PATH_MAXLEN and _PATH_SAFE.fullmatch(text):
        return text
    digest = hashlib.sha1(concise_spec.encode('utf8')).hexdigest()[:10]
    return _PATH_UNSAFE.sub('_', text)[:_PATH_MAXLEN - 11] + '-' + digest


def _concise_codes(bands: Tuple[str, ...]) -> Tuple[str, ...]:
    """Fold runs of consecutive indexed bands: ``x.0|x.1|x.2`` -> ``x:3``, ``x.2|x.3`` -> ``x.2:4``."""
    codes: List[str] = []
    run_root: Optional[str] = None
    run_start = run_stop = 0

    def flush() -> None:
        if run_stop - run_start == 1:
            codes.append(f'{run_root}.{run_start}')
        elif run_start == 0:
            codes.append(f'{run_root}:{run_stop}')
        else:
            codes.append(f'{run_root}.{run_start}:{run_stop}')

    for band in bands:
        root, dot, index = band.rpartition('.')
        if dot:
            idx = int(index)
            if root == run_root and idx == run_stop:
                run_stop += 1
                continue
            if run_root is not None:
                flush()
            run_root, run_start, run_stop = root, idx, idx + 1
        else:
            if run_root is not None:
                flush()
                run_root = None
            codes.append(band)
    if run_root is not None:
        flush()
    return tuple(codes)


def _check_count(num: int) -> None:
    if isinstance(num, bool) or num < 0:
        raise ChannelSpecError(f'invalid number of channels {num!r}; allowed: an integer >= 0')


def _other_bands(other: Any) -> Tuple[str, ...]:
    """Normalized band names of anything a set operation accepts.

    A spec object, a spec string (``,`` streams are flattened), a list of names, an int, or a set of
    names / specs (returned sorted, as a set has no order).
    """
    if isinstance(other, FusedChannelSpec):
        return other._bands
    if isinstance(other, ChannelSpec):
        return other.fuse()._bands
    if isinstance(other, (set, frozenset)):
        return tuple(sorted({band for item in other for band in _other_bands(item)}))
    if isinstance(other, str) and ',' in other:
        return _channel_from_str(other).fuse()._bands
    return FusedChannelSpec.coerce(other)._bands


class FusedChannelSpec(SpecBase):
    """An ordered list of channels stacked into one array (one early-fused stream), e.g. ``'r|g|b'``.

    Construct with :meth:`coerce` (cached) or ``FusedChannelSpec(x)`` with anything ``coerce`` accepts.
    Equality, hashing, ``len`` and set algebra work on the *normalized* band names, so
    ``FusedChannelSpec.coerce('rgb:3') == 'rgb.0|rgb.1|rgb.2'``. The kwcoco aliases ``rgb``, ``rgba``,
    ``dxdy`` and ``fxfy`` stand for their bands (``rgb`` is ``r|g|b``). Iterating yields band names.

    Example
    -------
    >>> spec = FusedChannelSpec.coerce('B1|B8.0:3')
    >>> spec.numel(), spec.as_list()
    (4, ['B1', 'B8.0', 'B8.1', 'B8.2'])
    >>> print(spec.normalize().concise())
    B1|B8:3
    >>> spec.indices('B8.2|nir')
    [3, None]
    """

    __slots__ = ('_codes', '_bands', '_set', '_index', '_normal', '_concise', '_hash')
    _SEP = '|'

    def _init(self, codes: Tuple[str, ...], bands: Tuple[str, ...], spec: Optional[str] = None) -> None:
        self._codes = codes
        self._bands = bands
        self._spec = spec
        self._set = self._index = self._normal = self._concise = self._hash = None

    def _state(self) -> Tuple[Tuple[str, ...], Tuple[str, ...], Optional[str]]:
        return self._codes, self._bands, self._spec

    @classmethod
    def _from_parsed(cls, fused: Tuple[Code, ...], spec: Optional[str] = None) -> 'FusedChannelSpec':
        codes = tuple(code for code, _ in fused)
        bands = tuple(band for _, code_bands in fused for band in code_bands)
        return cls._make(codes, bands, spec)

    @classmethod
    def _from_bands(cls, bands: Tuple[str, ...]) -> 'FusedChannelSpec':
        return cls._make(bands, bands)

    @classmethod
    def coerce(cls, data: FusedLike) -> 'FusedChannelSpec':
        """Interpret ``data`` as one early-fused stream.

        Parameters
        ----------
        data : str | int | list[str] | FusedChannelSpec
            A spec string (``'r|g|b'``, ``'rgb:3'``, ``''`` for none), ``n`` for ``n`` unnamed bands
            (``'u:n'``, i.e. ``u.0|u.1|...``), a list of channel codes, or a spec (returned as is).

        Raises
        ------
        ChannelSpecError
            Bad text, a ``,`` (several streams: use :class:`ChannelSpec`), a sensor prefix (use
            :class:`SensorChanSpec`), or a negative count.
        ChannelTypeError
            ``data`` is of no accepted type (also a ``TypeError``).

        Example
        -------
        >>> FusedChannelSpec.coerce(3).as_list()
        ['u.0', 'u.1', 'u.2']
        """
        kind = type(data)
        if kind is str:
            return _fused_from_str(data)
        if kind is cls:
            return data
        if isinstance(data, FusedChannelSpec):
            return cls._make(*data._state())
        if isinstance(data, int):
            _check_count(data)
            return _fused_from_str(f'{UNNAMED_PREFIX}:{data}')
        if isinstance(data, (list, tuple)):
            parts = [FusedChannelSpec.coerce(item) for item in data]
            return cls._make(tuple(code for part in parts for code in part._codes),
                             tuple(band for part in parts for band in part._bands))
        if isinstance(data, ChannelSpec):
            return data._single_stream()
        raise ChannelTypeError(f'cannot coerce {type(data).__name__} {data!r} to a FusedChannelSpec; '
                        'allowed: str, int, list of str, FusedChannelSpec')

    # -- representations ---------------------------------------------------------------------------
    def _spec_parts(self) -> Tuple[str, ...]:
        return self._codes

    @property
    def parsed(self) -> List[str]:
        """The channel codes as written, e.g. ``['B1', 'B8.0:3']``."""
        return list(self._codes)

    def code_list(self) -> List[str]:
        """The channel codes as written (same as :attr:`parsed`)."""
        return list(self._codes)

    def as_list(self) -> List[str]:
        """The normalized band names, e.g. ``'rgb:3'`` -> ``['rgb.0', 'rgb.1', 'rgb.2']``."""
        return list(self._bands)

    def as_set(self) -> frozenset:
        """The normalized band names as a set."""
        if self._set is None:
            self._set = frozenset(self._bands)
        return self._set

    def as_path(self) -> str:
        """A file-name-safe string that identifies these bands (equal specs give the same path).

        Example
        -------
        >>> FusedChannelSpec.coerce('red|B8.0|B8.1').as_path()
        'red+B8..2'
        """
        return _path_safe(self.concise().spec)

    def normalize(self) -> 'FusedChannelSpec':
        """Expand ranges and aliases into one code per band: ``'rgb:3'`` -> ``'rgb.0|rgb.1|rgb.2'``."""
        if self._normal is None:
            self._normal = self if self._codes == self._bands else self._from_bands(self._bands)
        return self._normal

    def concise(self) -> 'FusedChannelSpec':
        """Fold consecutive indexed bands into ranges: ``'x.0|x.1|x.2|y'`` -> ``'x:3|y'``."""
        if self._concise is None:
            codes = _concise_codes(self._bands)
            self._concise = self if codes == self._codes else self._make(codes, self._bands)
        return self._concise

    def numel(self) -> int:
        """Number of bands."""
        return len(self._bands)

    def streams(self) -> List['FusedChannelSpec']:
        """``[self]``: the one stream (mirrors :meth:`ChannelSpec.streams`)."""
        return [self]

    def fuse(self) -> 'FusedChannelSpec':
        """``self`` (mirrors :meth:`ChannelSpec.fuse`)."""
        return self

    # -- lookup ------------------------------------------------------------------------------------
    def _positions(self) -> dict:
        if self._index is None:
            index: dict = {}
            for pos, band in enumerate(self._bands):
                index.setdefault(band, pos)
            self._index = index
        return self._index

    def index(self, name: str) -> int:
        """Position of the band ``name`` (first occurrence).

        Raises
        ------
        UnknownChannelError
            ``name`` is not one of the bands.
        """
        try:
            return self._positions()[name]
        except KeyError:
            raise UnknownChannelError(f'channel {name!r} not in {self.spec!r}; allowed: {self.as_list()}') from None

    def indices(self, other: Any) -> List[Optional[int]]:
        """Positions in ``self`` of each band of ``other`` (None where ``self`` lacks it)."""
        positions = self._positions()
        return [positions.get(band) for band in _other_bands(other)]

    def __getitem__(self, index: Union[int, slice, Sequence[int]]) -> 'FusedChannelSpec':
        """Bands by position: an int, a slice or a sequence of ints gives a (normalized) spec."""
        if isinstance(index, slice):
            return self._from_bands(self._bands[index])
        if isinstance(index, numbers.Integral):
            return self._from_bands((self._bands[index],))
        return self._from_bands(tuple(self._bands[i] for i in index))

    def __contains__(self, key: Any) -> bool:
        """A band name, or a spec whose bands are all in ``self``."""
        members = self.as_set()
        if type(key) is str and key in members:
            return True
        try:
            return members.issuperset(_other_bands(key))
        except (ChannelSpecError, TypeError):
            return False

    def __iter__(self) -> Iterator[str]:
        return iter(self._bands)

    def __len__(self) -> int:
        return len(self._bands)

    # -- set algebra (order preserving) -------------------------------------------------------------
    def intersection(self, other: Any) -> 'FusedChannelSpec':
        """Bands of ``self`` that ``other`` has, in ``self``'s order."""
        keep = frozenset(_other_bands(other))
        return self._from_bands(tuple(band for band in self._bands if band in keep))

    def difference(self, other: Any) -> 'FusedChannelSpec':
        """Bands of ``self`` that ``other`` lacks, in ``self``'s order."""
        drop = frozenset(_other_bands(other))
        return self._from_bands(tuple(band for band in self._bands if band not in drop))

    def union(self, other: Any) -> 'FusedChannelSpec':
        """Bands of ``self``, then the bands of ``other`` not already present, in order."""
        seen = set(self._bands)
        extra = []
        for band in _other_bands(other):
            if band not in seen:
                seen.add(band)
                extra.append(band)
        return self._from_bands(self._bands + tuple(extra))

    def issubset(self, other: Any) -> bool:
        """True if every band of ``self`` is in ``other``."""
        return self.as_set().issubset(_other_bands(other))

    def issuperset(self, other: Any) -> bool:
        """True if every band of ``other`` is in ``self``."""
        return self.as_set().issuperset(_other_bands(other))

    __and__ = intersection
    __sub__ = difference
    __or__ = union

    # -- value semantics ---------------------------------------------------------------------------
    def __eq__(self, other: Any) -> bool:
        if isinstance(other, FusedChannelSpec):
            return self._bands == other._bands
        if isinstance(other, (str, list, tuple)):
            try:
                return self._bands == FusedChannelSpec.coerce(other)._bands
            except ChannelSpecError:
                return False
        return NotImplemented

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash('|'.join(self._bands))
        return self._hash


class ChannelSpec(SpecBase):
    """Late-fused streams of early-fused channels, e.g. ``'infrared,red|green|blue'``.

    Behaves like a mapping from stream spec to :class:`FusedChannelSpec` (``keys``, ``values``,
    ``items``, as kwcoco's). Equality and hashing compare the ordered list of normalized streams.
    Streams without bands (``'x:0'``, ``'*:'``) are dropped. A sensor prefix other than ``*`` is an
    error here (use :class:`SensorChanSpec`).

    Example
    -------
    >>> spec = ChannelSpec.coerce('infrared,red|green|blue')
    >>> [s.spec for s in spec.streams()], spec.numel()
    (['infrared', 'red|green|blue'], 4)
    >>> print(spec.fuse())
    infrared|red|green|blue
    >>> ChannelSpec.coerce('b:2,c').parse()
    {'b:2': ['b.0', 'b.1'], 'c': ['c']}
    """

    __slots__ = ('_streams', '_normal', '_concise', '_fused', '_hash')

    def _init(self, streams: Iterable[FusedChannelSpec], spec: Optional[str] = None) -> None:
        self._streams = tuple(stream for stream in streams if stream._bands)
        self._spec = spec
        self._normal = self._concise = self._fused = self._hash = None

    def _state(self) -> Tuple[Tuple[FusedChannelSpec, ...], Optional[str]]:
        return self._streams, self._spec

    @classmethod
    def coerce(cls, data: ChannelLike) -> 'ChannelSpec':
        """Interpret ``data`` as a set of late-fused streams.

        Parameters
        ----------
        data : str | int | FusedChannelSpec | ChannelSpec | list
            A spec string (``','`` separates streams, ``''`` is no streams), ``n`` for one stream of
            ``n`` unnamed bands, one fused spec (one stream), or a list whose items are streams.

        Raises
        ------
        ChannelSpecError
            Bad text or a sensor prefix.
        ChannelTypeError
            ``data`` is of no accepted type (also a ``TypeError``).
        """
        kind = type(data)
        if kind is str:
            return _channel_from_str(data)
        if kind is cls:
            return data
        if isinstance(data, ChannelSpec):
            return cls._make(*data._state())
        if isinstance(data, (FusedChannelSpec, int)):
            fused = FusedChannelSpec.coerce(data)
            return cls._make((fused,), fused.spec)
        if isinstance(data, (list, tuple)):
            return cls._make(stream for item in data for stream in cls._item_streams(item))
        raise ChannelTypeError(f'cannot coerce {type(data).__name__} {data!r} to a ChannelSpec; '
                        'allowed: str, int, FusedChannelSpec, ChannelSpec, list of streams')

    @staticmethod
    def _item_streams(item: Any) -> Tuple[FusedChannelSpec, ...]:
        if isinstance(item, (str, ChannelSpec)):
            return ChannelSpec.coerce(item)._streams
        return (FusedChannelSpec.coerce(item),)

    def _single_stream(self) -> FusedChannelSpec:
        if len(self._streams) == 1:
            return self._streams[0]
        if not self._streams:
            return _fused_from_str('')
        raise ChannelSpecError(f'channel spec {self.spec!r} has {len(self._streams)} late-fused streams; '
                               'allowed: exactly one for a FusedChannelSpec (use .fuse() to stack them)')

    # -- representations ---------------------------------------------------------------------------
    def streams(self) -> List[FusedChannelSpec]:
        """One :class:`FusedChannelSpec` per late-fused stream, in order."""
        return list(self._streams)

    def keys(self) -> Iterator[str]:
        """Stream spec strings."""
        return (stream.spec for stream in self._streams)

    _spec_parts = keys

    def values(self) -> Iterator[FusedChannelSpec]:
        """Stream specs."""
        return iter(self._streams)

    def items(self) -> Iterator[Tuple[str, FusedChannelSpec]]:
        """``(stream spec string, stream spec)`` pairs."""
        return ((stream.spec, stream) for stream in self._streams)

    def parse(self) -> dict:
        """Mapping of stream spec string to its normalized band names."""
        return {stream.spec: stream.as_list() for stream in self._streams}

    def fuse(self) -> FusedChannelSpec:
        """All streams stacked into one early-fused spec."""
        if self._fused is None:
            if len(self._streams) == 1:
                self._fused = self._streams[0]
            else:
                self._fused = FusedChannelSpec.coerce(self._streams)
        return self._fused

    def code_list(self) -> List[str]:
        """The channel codes of the single stream.

        Raises
        ------
        ChannelSpecError
            There is more than one stream.
        """
        return self._single_stream().code_list()

    def as_list(self) -> List[str]:
        """Normalized band names of all streams, in order."""
        return self.fuse().as_list()

    def as_set(self) -> frozenset:
        """Normalized band names of all streams."""
        return self.fuse().as_set()

    def as_path(self) -> str:
        """A file-name-safe string that identifies these streams (equal specs give the same path)."""
        return _path_safe(self.concise().spec)

    def normalize(self) -> 'ChannelSpec':
        """Every stream normalized: ``'b1|b2,B:3'`` -> ``'b1|b2,B.0|B.1|B.2'``."""
        if self._normal is None:
            self._normal = self._make(stream.normalize() for stream in self._streams)
        return self._normal

    def concise(self) -> 'ChannelSpec':
        """Every stream made concise: ``'B.0|B.1,x'`` -> ``'B:2,x'``."""
        if self._concise is None:
            self._concise = self._make(stream.concise() for stream in self._streams)
        return self._concise

    def numel(self) -> int:
        """Total number of bands over all streams."""
        return sum(len(stream) for stream in self._streams)

    def __contains__(self, key: Any) -> bool:
        """A band name, or a spec whose bands all occur in some stream."""
        return key in self.fuse()

    # -- set algebra -------------------------------------------------------------------------------
    def intersection(self, other: Any) -> 'ChannelSpec':
        """Each stream intersected with all bands of ``other``; streams left empty are dropped."""
        keep = _other_bands(other)
        return self._make(stream.intersection(keep) for stream in self._streams)

    def difference(self, other: Any) -> 'ChannelSpec':
        """Each stream without the bands of ``other``; streams left empty are dropped."""
        drop = _other_bands(other)
        return self._make(stream.difference(drop) for stream in self._streams)

    def union(self, other: Any) -> 'ChannelSpec':
        """The normalized streams of ``self`` followed by those of ``other`` (late fusion, as kwcoco's)."""
        return self._make(self.normalize()._streams + ChannelSpec.coerce(other).normalize()._streams)

    __and__ = intersection
    __sub__ = difference
    __or__ = union

    # -- value semantics ---------------------------------------------------------------------------
    def _key(self) -> Tuple[Tuple[str, ...], ...]:
        return tuple(stream._bands for stream in self._streams)

    def __eq__(self, other: Any) -> bool:
        if not isinstance(other, ChannelSpec):
            if not isinstance(other, (str, list, tuple, FusedChannelSpec)):
                return NotImplemented
            try:
                other = ChannelSpec.coerce(other)
            except ChannelSpecError:
                return False
        return self._key() == other._key()

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(','.join('|'.join(bands) for bands in self._key()))
        return self._hash


def _generic_sensor(items: Tuple[Item, ...], text: str, where: str) -> None:
    """Reject sensor prefixes other than ``*`` in a channel-only spec."""
    for sensors, _, start in items:
        if sensors is not None and sensors != ('*',):
            raise spec_error(text, start, f'sensor prefix {",".join(sensors)!r} is not allowed in a {where}; '
                                          'use SensorChanSpec')


@bounded_cache(CACHE_BYTES, bands=lambda spec: spec.numel())
def _fused_from_str(text: str) -> FusedChannelSpec:
    items = parse_stream(text)
    _generic_sensor(items, text, 'FusedChannelSpec')
    if len(items) > 1:
        raise spec_error(text, items[1][2] - 1, "',' separates late-fused streams; allowed in a "
                                                'FusedChannelSpec: one early-fused stream (use ChannelSpec)')
    if not items:
        return FusedChannelSpec._make((), (), '')
    sensors, fused_list, _ = items[0]
    if len(fused_list) > 1:
        raise spec_error(text, 0, 'a parenthesized sequence of several streams is not allowed in a '
                                  'FusedChannelSpec (use ChannelSpec)')
    plain = sensors is None and not text.startswith('(')
    return FusedChannelSpec._from_parsed(fused_list[0], text if plain else None)


@bounded_cache(CACHE_BYTES, bands=lambda spec: spec.numel(), max_entries=4096)
def _channel_from_str(text: str) -> ChannelSpec:
    items = parse_stream(text)
    _generic_sensor(items, text, 'ChannelSpec')
    streams = (FusedChannelSpec._from_parsed(fused) for _, fused_list, _ in items for fused in fused_list)
    return ChannelSpec._make(streams, text)
