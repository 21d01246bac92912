"""A source file against its dataset entry: band count vs ``channels``, size vs ``width`` / ``height``.

One rule, used at three places: :meth:`Frames.prepare` (in the worker, on the header of
the cache file it just checked), :meth:`Frames.source_mismatches` (``ndsampler info``,
on the sources' headers) and every read (:meth:`Frames.load_delayed` builds a tree once
per image, channels and nodata per process, from headers it reads anyway, and raises
:class:`~ndsampler.errors.SourceMismatchError` instead of padding or NaN bands): the
check adds no per-sample cost.

Sizes: an asset's own ``width`` / ``height`` must equal the file's; a file compared with
the image's ``width`` / ``height`` through the scale of its ``warp_aux_to_img`` may differ
by less than one of its own pixels per axis (the rounding of a lower-resolution band: 42
or 43 px for a 1/3 band of a 128 px image). Missing ``channels`` accept any band count;
an image or asset without ``width`` / ``height`` skips that size check, and so does an
asset whose warp rotates or shears (it need not span the image's grid).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Sequence, Tuple

import numpy as np

from ndsampler.channels import FusedChannelSpec
from ndsampler.delayed.readers import Header
from ndsampler.errors import SourceMismatchError
from ndsampler.frames._records import Asset, ImageRecord

__all__ = ['SourceMismatch', 'Expectation', 'check_header', 'expectations', 'mismatches_of', 'format_mismatches',
           'raise_mismatches']

#: Relative slack on the "less than one asset pixel" rule, for float error in fractional warps.
_EPS = 1e-6


@dataclass(frozen=True)
class SourceMismatch:
    """One way a source file disagrees with its dataset entry.

    Attributes
    ----------
    image_id : Any
    fpath : str
        The source file (as the dataset resolves it).
    what : str
        ``'bands'`` or ``'size'``.
    dataset : str
        What the dataset says.
    found : str
        What the file has.
    """

    image_id: Any
    fpath: str
    what: str
    dataset: str
    found: str

    def __str__(self) -> str:
        return f'{self.fpath}: {self.what}: dataset says {self.dataset}, file has {self.found}'

    def to_dict(self) -> Dict[str, Any]:
        """Plain data for JSON reports: the fields but ``image_id`` (``SourceMismatch(image_id, **d)`` rebuilds it)."""
        return {'fpath': self.fpath, 'what': self.what, 'dataset': self.dataset, 'found': self.found}


#: ``(image_id, asset, image dsize or None)``: what the dataset says about one source; plain data, pickles.
Expectation = Tuple[Any, Asset, Any]


def expectations(records: Mapping[Any, ImageRecord]) -> Dict[str, List[Expectation]]:
    """Per source path, what each image that uses it says about it (in image order)."""
    out: Dict[str, List[Expectation]] = {}
    for gid, record in records.items():
        for asset in record.assets:
            out.setdefault(asset.fpath, []).append((gid, asset, record.dsize))
    return out


def check_header(expect: Expectation, header: Header) -> List[SourceMismatch]:
    """The mismatches between a file's header and what the dataset says about it (empty: it agrees).

    Example
    -------
    >>> import numpy as np
    >>> from ndsampler.delayed.readers import Header
    >>> asset = Asset('/data/b8.tif', channels='B8', warp={'scale': 3})
    >>> [str(m) for m in check_header((1, asset, (128, 128)), Header((43, 43), 1, np.dtype('uint8')))]
    []
    >>> for m in check_header((1, asset, (128, 128)), Header((40, 43), 2, np.dtype('uint8'))):
    ...     print(m)
    /data/b8.tif: bands: dataset says channels 'B8' (1 band), file has 2 bands
    /data/b8.tif: size: dataset says image 128x128 (width/height), file has 40x43 (120x129 in image space by warp_aux_to_img; allowed: within one of the file's pixels)
    """
    image_id, asset, image_dsize = expect
    out = []
    if asset.channels is not None:
        spec = FusedChannelSpec.coerce(asset.channels)
        if spec.numel() != header.num_bands:
            out.append(SourceMismatch(image_id, asset.fpath, 'bands', f'channels {spec.spec!r} ({_bands(spec.numel())})',
                                      _bands(header.num_bands)))
    size = _size_mismatch(asset, image_dsize, tuple(header.dsize))
    if size is not None:
        out.append(SourceMismatch(image_id, asset.fpath, 'size', *size))
    return out


def _bands(n: int) -> str:
    return f'{n} band' if n == 1 else f'{n} bands'


def _size_mismatch(asset: Asset, image_dsize: Any, dsize: Tuple[int, int]) -> Tuple[str, str] | None:
    """``(dataset says, file has)`` when the file's size disagrees with the asset's or the image's; else None."""
    w, h = dsize
    if asset.dsize is not None and tuple(asset.dsize) != (w, h):
        return f'{asset.dsize[0]}x{asset.dsize[1]} (width/height)', f'{w}x{h}'
    linear = asset.warp_aux_to_img[:2, :2]
    scale = np.abs(np.diag(linear))
    if image_dsize is None or abs(linear[0, 1]) + abs(linear[1, 0]) > _EPS * scale.max():
        return None  # a rotated or sheared asset need not span the image's grid
    extent = scale * (w, h)
    if np.all(np.abs(extent - np.asarray(image_dsize, dtype=float)) < scale * (1 - _EPS)):
        return None
    said = f'image {image_dsize[0]}x{image_dsize[1]} (width/height)'
    if asset.is_aligned:
        return said, f'{w}x{h}'
    return said, (f'{w}x{h} ({extent[0]:g}x{extent[1]:g} in image space by warp_aux_to_img; '
                  "allowed: within one of the file's pixels)")


def mismatches_of(records: Mapping[Any, ImageRecord],
                  header_of: Callable[[Asset], Header]) -> Dict[Any, Sequence[SourceMismatch]]:
    """Per image with a file that disagrees with the dataset, its mismatches (``header_of`` reads an asset's header).

    A missing or undecodable file is skipped (:meth:`Frames.status` reports those).
    """
    out: Dict[Any, Sequence[SourceMismatch]] = {}
    for gid, record in records.items():
        found = []
        for asset in record.assets:
            try:
                header = header_of(asset)
            except OSError:
                continue
            found += check_header((gid, asset, record.dsize), header)
        if found:
            out[gid] = found
    return out


def format_mismatches(mismatched: Mapping[Any, Sequence[SourceMismatch]]) -> List[str]:
    """Report lines for :attr:`PrepareSummary.mismatched` and ``ndsampler info``: a heading, one line per file.

    Example
    -------
    >>> print('\\n'.join(format_mismatches({3: [SourceMismatch(3, '/d/a.png', 'size', '100x80 (width/height)', '64x48')]})))
    files that disagree with the dataset (reading these images raises SourceMismatchError):
      image 3: /d/a.png: size: dataset says 100x80 (width/height), file has 64x48
    """
    if not mismatched:
        return []
    return ['files that disagree with the dataset (reading these images raises SourceMismatchError):'] + \
        [f'  image {gid!r}: {m}' for gid, found in mismatched.items() for m in found]


def raise_mismatches(mismatches: Sequence[SourceMismatch]) -> None:
    """Raise :class:`SourceMismatchError` naming the image, each file, the dataset's and the file's values.

    Example
    -------
    >>> raise_mismatches([SourceMismatch(3, '/d/a.png', 'size', 'image 100x80 (width/height)', '64x48')])
    Traceback (most recent call last):
    ...
    ndsampler.errors.SourceMismatchError: image 3 disagrees with its source file: /d/a.png: size: dataset says image 100x80 (width/height), file has 64x48; allowed: files whose band count and size agree with the dataset (fix the dataset entry or the file)
    """
    if mismatches:
        image_id = mismatches[0].image_id
        raise SourceMismatchError(f'image {image_id!r} disagrees with its source file: '
                                  + '; '.join(map(str, mismatches))
                                  + '; allowed: files whose band count and size agree with the dataset '
                                    '(fix the dataset entry or the file)')
