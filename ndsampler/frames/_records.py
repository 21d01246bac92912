"""What an image is made of: its size and its assets (files with channels and a warp into image space)."""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Tuple

import kwimage
import numpy as np

from ndsampler._typing import PathLike
from ndsampler.backends import is_remote
from ndsampler.errors import InvalidOptionError

__all__ = ['Asset', 'ImageRecord', 'asset_dicts', 'coco_image_record', 'resolve_path']


@dataclass(frozen=True)
class Asset:
    """One file of an image.

    Attributes
    ----------
    fpath : str
        Absolute local path or remote URL of the source.
    channels : str | None
        The channel code as the dataset gives it (None: unnamed bands).
    dsize : tuple | None
        ``(w, h)`` the dataset records for the asset (None: read from the file).
    warp : Any
        The ``warp_aux_to_img`` as the dataset gives it (None: identity);
        :attr:`warp_aux_to_img` is its 3x3 matrix, parsed on first use.
    quantization : dict | None
        ``orig_min``, ``orig_max``, ``quant_min``, ``quant_max``, ``nodata``.
    """

    fpath: str
    channels: Optional[str] = None
    dsize: Optional[Tuple[int, int]] = None
    warp: Any = None
    quantization: Optional[Dict[str, Any]] = None

    @functools.cached_property
    def warp_aux_to_img(self) -> np.ndarray:
        """3x3 matrix mapping asset pixel corners into image space."""
        return np.eye(3) if self.warp is None else np.asarray(kwimage.Affine.coerce(self.warp).matrix, dtype=float)

    @property
    def is_aligned(self) -> bool:
        """True when the asset's pixels already are image pixels (identity warp)."""
        return self.warp is None or bool(np.allclose(self.warp_aux_to_img, np.eye(3)))


@dataclass(frozen=True)
class ImageRecord:
    """An image id, its ``(w, h)`` in image space (None: from its first asset) and its assets."""

    image_id: Any
    dsize: Optional[Tuple[int, int]]
    assets: Tuple[Asset, ...]


def resolve_path(fpath: PathLike, base_dpath: Optional[PathLike]) -> str:
    """An absolute path for ``fpath`` (relative paths join ``base_dpath``); URLs pass through."""
    text = os.fspath(fpath)
    if is_remote(text) or os.path.isabs(text) or base_dpath is None:
        return text if is_remote(text) else os.path.abspath(text)
    return os.path.abspath(os.path.join(os.fspath(base_dpath), text))


def _dsize(obj: Mapping[str, Any]) -> Optional[Tuple[int, int]]:
    w, h = obj.get('width'), obj.get('height')
    return None if w is None or h is None else (int(w), int(h))


def _asset(obj: Mapping[str, Any], base_dpath: Optional[PathLike]) -> Asset:
    return Asset(
        fpath=resolve_path(obj['file_name'], base_dpath),
        channels=obj.get('channels'),
        dsize=_dsize(obj),
        warp=obj.get('warp_aux_to_img'),
        quantization=obj.get('quantization'),
    )


def asset_dicts(img: Mapping[str, Any]) -> List[Mapping[str, Any]]:
    """The dicts of a kwcoco image's files, in the order of its record's assets.

    The image itself when it has a ``file_name``, then its ``assets`` (new kwcoco) or,
    when it has none, its ``auxiliary`` (old kwcoco).
    """
    objs: List[Mapping[str, Any]] = [img] if img.get('file_name') is not None else []
    extra = img.get('assets')
    if extra is None:
        extra = img.get('auxiliary')
    return objs + list(extra or [])


def coco_image_record(img: Mapping[str, Any], base_dpath: Optional[PathLike]) -> ImageRecord:
    """Build the record of a kwcoco image dict.

    A ``file_name`` is one asset (with the image's ``channels``); ``assets``
    (new kwcoco) or ``auxiliary`` (old kwcoco) list more, each with its own
    ``channels``, ``width``/``height`` and ``warp_aux_to_img``.

    Example
    -------
    >>> rec = coco_image_record({'id': 1, 'width': 6, 'height': 4, 'auxiliary': [
    ...     {'file_name': 'a.tif', 'channels': 'B1', 'width': 3, 'height': 2,
    ...      'warp_aux_to_img': {'scale': 2}}]}, '/data')
    >>> rec.assets[0].fpath, rec.assets[0].channels, rec.assets[0].is_aligned
    ('/data/a.tif', 'B1', False)
    """
    assets = [_asset(obj, base_dpath) for obj in asset_dicts(img)]
    if not assets:
        raise InvalidOptionError(f'image {img.get("id")!r} file_name / assets', None,
                                 'a file_name or a non-empty assets (auxiliary) list')
    return ImageRecord(img.get('id'), _dsize(img), tuple(assets))
