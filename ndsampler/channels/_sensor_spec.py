"""Sensor-qualified channel specs: ``'S2:(infrared,red|green|blue),L8:nir'`` (SPEC §3)."""
from __future__ import annotations

from typing import Any, Dict, Iterator, List, NamedTuple, Optional, Tuple, Union

from ndsampler.channels._base import SpecBase
from ndsampler.channels._channel_spec import ChannelSpec, FusedChannelSpec
from ndsampler.channels._cache import bounded_cache
from ndsampler.channels._parser import CACHE_BYTES, parse_stream
from ndsampler.errors import ChannelSpecError, ChannelTypeError

__all__ = ['SensorChan', 'SensorChanSpec', 'GENERIC_SENSOR', 'SensorChanLike']

#: The sensor of streams written without a sensor prefix; it matches every sensor.
GENERIC_SENSOR = '*'

SensorChanLike = Union[str, int, FusedChannelSpec, ChannelSpec, 'SensorChanSpec']


class SensorChan(NamedTuple):
    """One late-fused stream: a sensor name and its early-fused channels."""

    sensor: str
    chans: FusedChannelSpec

    @property
    def spec(self) -> str:
        """``'sensor:chans'``, e.g. ``'S2:red|green'``."""
        return f'{self.sensor}:{self.chans.spec}'


class SensorChanSpec(SpecBase):
    """Late-fused streams, each a sensor and its early-fused channels.

    A prefix ``S2:`` applies to the channel part after it, ``(S2,L8):`` to each of the sensors, and a
    parenthesized channel part ``(a,b|c)`` holds several streams; streams without a prefix belong to
    the generic sensor ``'*'``. Streams form a set: equality and hashing ignore their order and
    repetition (:meth:`concise` sorts and merges them).

    Example
    -------
    >>> spec = SensorChanSpec.coerce('(S2,L8):(red|green|blue),S2:nir:2')
    >>> print(spec.normalize())
    S2:red|green|blue,L8:red|green|blue,S2:nir.0|nir.1
    >>> print(spec.concise())
    (L8,S2):red|green|blue,S2:nir:2
    >>> print(spec.matching_sensor('L8'))
    red|green|blue
    """

    __slots__ = ('_streams', '_key')

    def _init(self, streams: Tuple[SensorChan, ...], spec: Optional[str] = None) -> None:
        self._streams = streams
        self._spec = spec
        self._key = None

    def _state(self) -> Tuple[Tuple[SensorChan, ...], Optional[str]]:
        return self._streams, self._spec

    @classmethod
    def coerce(cls, data: SensorChanLike) -> 'SensorChanSpec':
        """Interpret ``data`` as a sensor / channel spec.

        Parameters
        ----------
        data : str | int | FusedChannelSpec | ChannelSpec | SensorChanSpec
            A spec string in the full grammar, or a channel-only spec (its streams get sensor ``'*'``).

        Raises
        ------
        ChannelSpecError
            Bad text.
        ChannelTypeError
            ``data`` is of no accepted type (also a ``TypeError``).
        """
        kind = type(data)
        if kind is str:
            return _sensorchan_from_str(data)
        if kind is cls:
            return data
        if isinstance(data, SensorChanSpec):
            return cls._make(*data._state())
        if isinstance(data, (int, FusedChannelSpec, ChannelSpec, list, tuple)):
            chans = ChannelSpec.coerce(data)
            return cls._make(tuple(SensorChan(GENERIC_SENSOR, s) for s in chans.streams()), chans.spec)
        raise ChannelTypeError(f'cannot coerce {type(data).__name__} {data!r} to a SensorChanSpec; '
                        'allowed: str, int, FusedChannelSpec, ChannelSpec, SensorChanSpec')

    def _spec_parts(self) -> Iterator[str]:
        return (stream.spec for stream in self._streams)

    def streams(self) -> List[SensorChan]:
        """One ``(sensor, chans)`` pair per late-fused stream, groups expanded, in written order."""
        return list(self._streams)

    def sensors(self) -> List[str]:
        """The distinct sensor names, in order of first appearance."""
        return list(dict.fromkeys(stream.sensor for stream in self._streams))

    def numel(self) -> int:
        """Total number of bands over all streams."""
        return sum(len(stream.chans) for stream in self._streams)

    def normalize(self) -> 'SensorChanSpec':
        """One explicit ``sensor:chans`` per stream with ranges expanded.

        Example
        -------
        >>> print(SensorChanSpec.coerce('S2:(infrared,red|green|blue)').normalize())
        S2:infrared,S2:red|green|blue
        """
        return self._make(tuple(SensorChan(s.sensor, s.chans.normalize()) for s in self._streams))

    def concise(self) -> 'SensorChanSpec':
        """The shortest form: ranges folded, sensors sharing channels grouped, parts sorted.

        Repeated streams are merged (streams form a set).

        Example
        -------
        >>> print(SensorChanSpec.coerce('L8:red,S2:red,S2:mat.0|mat.1,L8:mat.0|mat.1').concise())
        (L8,S2):(red,mat:2)
        """
        chan_sensors: Dict[str, Dict[str, None]] = {}
        for stream in self._streams:
            chan_sensors.setdefault(stream.chans.concise().spec, {})[stream.sensor] = None
        sensor_chans: Dict[str, List[str]] = {}
        for chans, sensors in chan_sensors.items():
            group = _group(sorted(sensors))
            sensor_chans.setdefault(group, []).append(chans)
        parts = []
        for group, chan_list in sensor_chans.items():
            if '' in chan_list:  # an empty stream cannot sit inside '(...)'
                chan_list.remove('')
                parts.append(f'{group}:')
            if chan_list:
                parts.append(f'{group}:{_group(chan_list)}')
        text = ','.join(sorted(parts))
        return self._make(_sensorchan_from_str(text)._streams, text)

    def matching_sensor(self, sensor: str) -> ChannelSpec:
        """The channel streams of ``sensor`` and of the generic sensor ``'*'`` (all streams for ``'*'``).

        Example
        -------
        >>> SensorChanSpec.coerce('(S1,S2):a|b,S2:c,d').matching_sensor('S1').spec
        'a|b,d'
        """
        if sensor == GENERIC_SENSOR:
            return ChannelSpec._make(s.chans for s in self._streams)
        return ChannelSpec._make(s.chans for s in self._streams if s.sensor in (sensor, GENERIC_SENSOR))

    def _set_key(self) -> frozenset:
        if self._key is None:
            self._key = frozenset((s.sensor, s.chans._bands) for s in self._streams)
        return self._key

    def __eq__(self, other: Any) -> bool:
        if not isinstance(other, SensorChanSpec):
            if not isinstance(other, (str, FusedChannelSpec, ChannelSpec)):
                return NotImplemented
            try:
                other = SensorChanSpec.coerce(other)
            except ChannelSpecError:
                return False
        return self._set_key() == other._set_key()

    def __hash__(self) -> int:
        return hash(self._set_key())


def _group(names: List[str]) -> str:
    """``a`` for one name, ``(a,b)`` for several."""
    return names[0] if len(names) == 1 else '(' + ','.join(names) + ')'


@bounded_cache(CACHE_BYTES, bands=lambda spec: spec.numel(), max_entries=4096)
def _sensorchan_from_str(text: str) -> SensorChanSpec:
    streams = tuple(
        SensorChan(sensor, FusedChannelSpec._from_parsed(fused))
        for sensors, fused_list, _ in parse_stream(text)
        for sensor in (sensors or (GENERIC_SENSOR,))
        for fused in fused_list
    )
    return SensorChanSpec._make(streams, text)
