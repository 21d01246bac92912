"""Frames of a kwcoco dataset."""
from __future__ import annotations

from typing import Any, Dict, List, Optional

from ndsampler._typing import BackendLike, PathLike
from ndsampler.frames._alignable import norm_channels
from ndsampler.frames._frames import Frames
from ndsampler.frames._records import ImageRecord, asset_dicts, coco_image_record

__all__ = ['CocoFrames']


class CocoFrames(Frames):
    """Frames of the images of a ``kwcoco.CocoDataset``.

    Relative file names resolve against ``dset.bundle_dpath``; with no
    ``workdir`` the cache goes in ``<bundle_dpath>/_cache/frames``.

    Parameters
    ----------
    dset : kwcoco.CocoDataset
    workdir : PathLike | None
    backend : None | str | dict | Backend
    hashid_mode : str
        ``'PATH'`` or ``'PIXELS'``.

    Example
    -------
    >>> import kwcoco, tempfile
    >>> dset = kwcoco.CocoDataset.demo('shapes1', dpath=tempfile.mkdtemp())  # doctest: +SKIP
    >>> frames = CocoFrames(dset, backend='cog')  # doctest: +SKIP
    >>> frames.load_region(1, (slice(0, 64), slice(0, 64))).shape  # doctest: +SKIP
    (64, 64, 3)
    """

    def __init__(self, dset: Any, workdir: Optional[PathLike] = None, backend: BackendLike = None,
                 hashid_mode: str = 'PATH'):
        self.dset = dset
        super().__init__(workdir=workdir, backend=backend, hashid_mode=hashid_mode)

    @property
    def image_ids(self) -> List[Any]:
        return list(self.dset.imgs.keys())

    def _build_record(self, image_id: Any) -> ImageRecord:
        return coco_image_record(self.dset.imgs[image_id], self.dset.bundle_dpath)

    def _build_pathinfo(self, image_id: Any) -> Dict[str, Any]:
        """ndsampler 0.8's record of an image's files (see :meth:`Frames._build_pathinfo`).

        As in 0.8, ``default`` is the ``channels`` of the image's own ``file_name`` (None
        for an image made only of assets) and each record also has its ``file_name`` (as
        the dataset gives it) and ``norm_channels``.
        """
        pathinfo = super()._build_pathinfo(image_id)
        img = self.dset.imgs[image_id]
        if img.get('file_name') is not None:
            pathinfo['default'] = img.get('channels')
        for obj in asset_dicts(img):  # keyed by channels as in 0.8 (the last of two assets with one key wins)
            chan = pathinfo['channels'][obj.get('channels')]
            chan['file_name'] = obj['file_name']
            chan['norm_channels'] = norm_channels(chan['channels'])
        return pathinfo

    def _default_workdir(self) -> str:
        return str(self.dset.bundle_dpath)
