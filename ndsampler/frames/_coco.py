"""Frames of a kwcoco dataset."""
from __future__ import annotations

from typing import Any, List, Optional

from ndsampler._typing import BackendLike, PathLike
from ndsampler.frames._frames import Frames
from ndsampler.frames._records import ImageRecord, coco_image_record

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

    def _default_workdir(self) -> str:
        return str(self.dset.bundle_dpath)
