"""Channel and sensor specs (SPEC §3): parsing, normalize / concise, streams and set algebra.

``|`` joins early-fused channels (stacked into one array), ``,`` separates late-fused streams,
``name.3`` is one band of a group, ``name:4`` / ``name.0:4`` a range, ``S2:`` a sensor prefix and
parentheses group: ``'S2:(infrared,red|green|blue)'``, ``'(S2,L8):(red|green|blue)'``.

Example
-------
>>> from ndsampler.channels import FusedChannelSpec, ChannelSpec, SensorChanSpec
>>> FusedChannelSpec.coerce('rgb:3').normalize().spec
'rgb.0|rgb.1|rgb.2'
>>> ChannelSpec.coerce('red|green,nir').numel()
3
>>> SensorChanSpec.coerce('S2:red|green,L8:nir').matching_sensor('S2').spec
'red|green'
"""
from ndsampler.channels._channel_spec import (ALL_CHANNELS, UNNAMED_PREFIX, ChannelLike, ChannelSpec,
                                              FusedChannelSpec, FusedLike)
from ndsampler.channels._sensor_spec import GENERIC_SENSOR, SensorChan, SensorChanLike, SensorChanSpec

__all__ = [
    'FusedChannelSpec',
    'ChannelSpec',
    'SensorChanSpec',
    'SensorChan',
    'ALL_CHANNELS',
    'UNNAMED_PREFIX',
    'GENERIC_SENSOR',
    'FusedLike',
    'ChannelLike',
    'SensorChanLike',
]
