"""ndsampler 0.8's per-image path records (``pathinfo``) and ``AlignableImageData`` over our backends.

Code written against ndsampler 0.8 inspects ``frames._build_pathinfo(gid)`` and loads
channels through ``frames._load_alignable(gid)``; this keeps those working. Their
delayed trees are delayed_image's, as in 0.8 (ours are :meth:`Frames.load_delayed`).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ndsampler.backends import coerce_backend, source_identity
from ndsampler.channels import FusedChannelSpec
from ndsampler.delayed.readers import get_reader
from ndsampler.frames._records import Asset

__all__ = ['AlignableImageData', 'chan_info', 'norm_channels']


def chan_info(frames: Any, asset: Asset) -> dict[str, Any]:
    """ndsampler 0.8's record of one asset of an image: its paths, channels, warp and cache file."""
    backend = frames.backend
    info = {'path': asset.fpath, 'channels': asset.channels, 'warp_aux_to_img': asset.warp,
            'cache_type': backend.to_dict()['type'], 'hashid_mode': frames.hashid_mode}
    if info['cache_type'] is not None:
        info['cache_root'] = frames.cache_dpath
        info['cache'] = backend.cache_fpath(frames.cache_dpath, source_identity(asset.fpath, frames.hashid_mode))
    return info


class AlignableImageData:
    """The channels of one image, each loadable at its own resolution or aligned to the image (ndsampler 0.8).

    Parameters
    ----------
    pathinfo : dict
        ``frames._build_pathinfo(image_id)``: ``id``, ``default`` (the channel key loaded
        when none is given), ``width`` / ``height`` and ``channels`` (one record per asset).
    cache_backend : dict | None
        The frames' backend config (``frames._backend``).

    Example
    -------
    >>> import tempfile, pathlib, numpy as np, kwimage
    >>> from ndsampler.frames import SimpleFrames
    >>> fpath = pathlib.Path(tempfile.mkdtemp()) / 'a.png'
    >>> _ = kwimage.imwrite(fpath, np.zeros((20, 30, 3), np.uint8))
    >>> frames = SimpleFrames({1: fpath}, workdir=fpath.parent, backend='npy')
    >>> self = frames._load_alignable(1)
    >>> type(self._load_native_channel(None)).__name__, self.load_region((slice(0, 10), slice(5, 9))).shape
    ('memmap', (10, 4, 3))
    """

    def __init__(self, pathinfo: dict[str, Any], cache_backend: Any):
        self.pathinfo = pathinfo
        self.cache_backend = cache_backend
        self._channel_memcache: dict[Any, Any] = {}

    def _load_native_channel(self, chan_name: Any, cache: bool = True) -> Any:
        """One asset's pixels at its own resolution: its cache file unread (npy / cog) or its source read."""
        if cache and chan_name in self._channel_memcache:
            return self._channel_memcache[chan_name]
        chan = self.pathinfo['channels'][chan_name]
        data = None
        if cache and chan['cache_type'] is not None:
            from ndsampler.frames._frames import _LAZY_OPENERS  # (_frames imports this module)
            backend = coerce_backend(self.cache_backend)
            fpath = backend.ensure(source_identity(chan['path'], chan['hashid_mode']), chan['cache_root'])[0]
            data = _LAZY_OPENERS[backend.name](fpath)
        if data is None:
            data = get_reader(chan['path']).read()
        if cache:
            self._channel_memcache[chan_name] = data
        return data

    def _load_delayed_channel(self, chan_name: Any, cache: bool = True) -> Any:
        """One asset as a delayed_image tree warped into image space by its ``warp_aux_to_img``."""
        import delayed_image
        import kwimage
        data = self._load_native_channel(chan_name, cache=cache)
        width = self.pathinfo.get('width') or data.shape[1]
        height = self.pathinfo.get('height') or data.shape[0]
        warp = self.pathinfo['channels'][chan_name].get('warp_aux_to_img')
        node = delayed_image.DelayedIdentity(data, dsize=(data.shape[1], data.shape[0]))
        return node.warp(kwimage.Affine.coerce(warp), dsize=(width, height))

    def _coerce_channels(self, channels: Any = None) -> list[Any]:
        """Channel keys: ``'<all>'``, one key, a list of keys, or None (the default one)."""
        if channels is None:
            default = self.pathinfo.get('default')
            if default not in self.pathinfo['channels']:
                raise KeyError(f'no channels given and image {self.pathinfo.get("id")!r} has no default; '
                               f'allowed: one of {list(self.pathinfo["channels"])} or "<all>"')
            return [default]
        if isinstance(channels, str):
            return list(self.pathinfo['channels']) if channels == '<all>' else [channels]
        return list(channels)

    def _load_prefused_region(self, img_region: Any, channels: Any = None) -> dict[str, Any]:
        """Each channel's crop of ``img_region`` as an optimized delayed tree (its pixels at native resolution)."""
        keys = self._coerce_channels(channels)
        subregions = []
        for key in keys:
            node = self._load_delayed_channel(key)
            subregions.append({'im': node.crop(img_region).optimize(), 'channels': keys})
        return {'subregions': subregions}

    def _load_fused_region(self, img_region: Any, channels: Any = None) -> np.ndarray:
        """The channels' crops of ``img_region`` aligned to the image and stacked ``(h, w, c)``."""
        parts = []
        for subregion in self._load_prefused_region(img_region, channels)['subregions']:
            part = np.asarray(subregion['im'].finalize())
            parts.append(part[:, :, None] if part.ndim == 2 else part)
        return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=2)

    def load_region(self, img_region: Any, channels: Any = None, fused: bool = True) -> Any:
        """``img_region`` (image space) fused into one array, or per channel with ``fused=False``."""
        if fused:
            return self._load_fused_region(img_region, channels)
        return self._load_prefused_region(img_region, channels)

    def __getitem__(self, img_region: Any) -> np.ndarray:
        return self._load_fused_region(img_region)


def norm_channels(key: Any) -> Any:
    """A channel key's normalized spec (None stays None), as 0.8's pathinfo records it."""
    return None if key is None else FusedChannelSpec.coerce(key).normalize().spec
