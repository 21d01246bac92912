"""Frames of a plain mapping from image id to file path."""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

import ubelt as ub

from ndsampler._typing import BackendLike, PathLike
from ndsampler.frames._frames import Frames
from ndsampler.frames._records import Asset, ImageRecord, resolve_path

__all__ = ['SimpleFrames']


class SimpleFrames(Frames):
    """Frames of single-file images given as ``{image_id: path}`` (or a list: ids are indices).

    Channels are unnamed bands; sizes come from the files. With no ``workdir``
    the cache goes in the user cache folder (``~/.cache/ndsampler``).

    Parameters
    ----------
    id_to_path : Mapping | Sequence
    workdir : PathLike | None
    backend : None | str | dict | Backend

    Example
    -------
    >>> import tempfile, pathlib, numpy as np
    >>> fpath = pathlib.Path(tempfile.mkdtemp()) / 'a.npy'
    >>> np.save(fpath, np.arange(24, dtype=np.uint8).reshape(2, 4, 3))
    >>> frames = SimpleFrames({'a': fpath})
    >>> frames.image_dsize('a'), frames.image_channels('a').spec
    ((4, 2), 'u:3')
    """

    def __init__(self, id_to_path: Union[Mapping[Any, PathLike], Sequence[PathLike]],
                 workdir: Optional[PathLike] = None, backend: BackendLike = None, hashid_mode: str = 'PATH'):
        items = id_to_path.items() if isinstance(id_to_path, Mapping) else enumerate(id_to_path)
        self.id_to_path: Dict[Any, str] = {gid: resolve_path(p, None) for gid, p in items}
        super().__init__(workdir=workdir, backend=backend, hashid_mode=hashid_mode)

    @property
    def image_ids(self) -> List[Any]:
        return list(self.id_to_path.keys())

    @classmethod
    def demo(cls, workdir: Optional[PathLike] = None, backend: BackendLike = None) -> 'SimpleFrames':
        """Frames of the images of kwcoco's default demo dataset (ndsampler 0.8's demo).

        Three photos with ids 1, 2, 3 (kwimage's test images; random stand-ins of the same
        size when they cannot be downloaded), image 1 being 512x512 RGB.
        """
        import kwcoco
        dset = kwcoco.CocoDataset.demo()
        return cls({gid: dset.get_image_fpath(gid) for gid in dset.imgs}, workdir=workdir, backend=backend)

    def _build_record(self, image_id: Any) -> ImageRecord:
        return ImageRecord(image_id, None, (Asset(self.id_to_path[image_id]),))

    def _default_workdir(self) -> str:
        return str(ub.Path.appdir('ndsampler', type='cache'))
