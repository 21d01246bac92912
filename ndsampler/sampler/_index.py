"""Per-dataset lookups the sampler needs on every sample, built lazily and once.

Construction touches nothing: over 100k images and 1M annotations it only
keeps a reference to the kwcoco index. Per-video frame lists, image-to-video
warps and per-image key flags are built on first use and cached (the box arrays
live in the regions table, see ``BoxLookup``).
"""
from __future__ import annotations

from typing import Any

import kwcoco
import kwimage

from ndsampler.channels import GENERIC_SENSOR
from ndsampler.errors import UnknownIdError
from ndsampler.geometry import affine_of
from ndsampler.regions._columns import image_annotation_values, reconnect_after_fork

__all__ = ['DatasetIndex']


class DatasetIndex:
    """O(1) lookups of images, videos and annotations of a ``kwcoco.CocoDataset``.

    Parameters
    ----------
    dset : kwcoco.CocoDataset
        The dataset; its index must be built (kwcoco builds it on load).
    """

    def __init__(self, dset: kwcoco.CocoDataset):
        self.dset = dset
        reconnect_after_fork(dset)  # kwcoco's SQL view: a connection of its own in each DataLoader worker
        self._video_gids: dict[int, list[int]] = {}
        self._frame_pos: dict[int, dict[int, int]] = {}
        self._img_to_vid: dict[int, kwimage.Affine] = {}
        self._image_has: dict[tuple[int, str], bool] = {}

    def image(self, gid: int) -> dict[str, Any]:
        try:
            return self.dset.index.imgs[gid]
        except KeyError:
            raise UnknownIdError(f'unknown image id gid={gid!r}; the dataset has {len(self.dset.index.imgs)} images') from None

    def sensor(self, gid: int) -> str:
        """The sensor of an image (``sensor``, else kwcoco's older ``sensor_coarse``; ``'*'`` when neither)."""
        img = self.image(gid)
        return img.get('sensor', img.get('sensor_coarse', GENERIC_SENSOR))

    def video(self, vidid: int) -> dict[str, Any]:
        try:
            return self.dset.index.videos[vidid]
        except KeyError:
            known = sorted(self.dset.index.videos)[:10]
            raise UnknownIdError(f'unknown video id vidid={vidid!r}; known ids start with {known!r}') from None

    def ann(self, aid: int) -> dict[str, Any]:
        try:
            return self.dset.index.anns[aid]
        except KeyError:
            raise UnknownIdError(f'unknown annotation id aid={aid!r}; the dataset has {len(self.dset.index.anns)} annotations') from None

    def image_dims(self, gid: int) -> tuple[int, int]:
        """``(h, w)`` of an image."""
        img = self.image(gid)
        return int(img['height']), int(img['width'])

    def video_dims(self, vidid: int) -> tuple[int, int]:
        """``(h, w)`` of a video."""
        video = self.video(vidid)
        return int(video['height']), int(video['width'])

    def video_gids(self, vidid: int) -> list[int]:
        """Image ids of a video ordered by ``frame_index`` (cached)."""
        gids = self._video_gids.get(vidid)
        if gids is None:
            self.video(vidid)
            imgs = self.dset.index.imgs
            members = self.dset.index.vidid_to_gids.get(vidid, [])
            gids = sorted(members, key=lambda gid: (imgs[gid].get('frame_index', 0), gid))
            self._video_gids[vidid] = gids
        return gids

    def frame_position(self, vidid: int, gid: int) -> int:
        """Position of image ``gid`` in :meth:`video_gids` of ``vidid``."""
        positions = self._frame_pos.get(vidid)
        if positions is None:
            positions = {g: pos for pos, g in enumerate(self.video_gids(vidid))}
            self._frame_pos[vidid] = positions
        try:
            return positions[gid]
        except KeyError:
            raise UnknownIdError(f'image gid={gid!r} is not a frame of video vidid={vidid!r}') from None

    def warp_img_to_vid(self, gid: int) -> kwimage.Affine:
        """The image-to-video affine of an image (a real identity matrix when it has none; cached)."""
        warp = self._img_to_vid.get(gid)
        if warp is None:
            warp = self._img_to_vid[gid] = affine_of(self.image(gid).get('warp_img_to_vid', None))
        return warp

    def video_of(self, gid: int):
        """The video id of an image, or None."""
        return self.image(gid).get('video_id', None)

    def image_has(self, gid: int, key: str) -> bool:
        """True when some annotation of image ``gid`` has a non-empty ``key`` (cached per image and key)."""
        found = self._image_has.get((gid, key))
        if found is None:
            values = image_annotation_values(self.dset, gid, key)  # one query on a SQL view
            if values is None:
                anns = self.dset.index.anns
                values = (anns[aid].get(key) for aid in self.dset.index.gid_to_aids.get(gid, ()))
            found = any(value is not None and not (isinstance(value, (list, tuple)) and len(value) == 0)
                        for value in values)
            self._image_has[(gid, key)] = found
        return found
