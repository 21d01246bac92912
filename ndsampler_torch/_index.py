"""A compact, array-only view of a dataset's images and annotation boxes for sampling plans.

Plans draw window coordinates from this index and never touch pixels. Everything is held in a few
numpy arrays (no per-annotation Python objects), so a forked DataLoader worker shares the pages
with its parent instead of copying them, and pickling the index for a spawned worker costs a few
bytes per annotation.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ndsampler import errors

__all__ = ['PlanIndex']


class PlanIndex:
    """Images and annotation boxes as flat arrays, annotations grouped by image.

    Parameters
    ----------
    image_ids : array of int, shape (N,)
        Image ids in index order.
    image_dsize : array of int, shape (N, 2)
        Each image's ``(width, height)``.
    ann_ids : array of int, shape (M,)
        Annotation ids.
    ann_image : array of int, shape (M,)
        The position (0..N-1) in ``image_ids`` of each annotation's image.
    ann_ltrb : array of float, shape (M, 4)
        Annotation boxes as ``(x1, y1, x2, y2)`` in image pixels.
    ann_label : array of int, shape (M,)
        Class index of each annotation (a position in ``class_ids``).
    class_ids : sequence of int
        Category id of each class index.
    class_names : sequence of str, optional
        Category name of each class index.

    Annotations are re-ordered by image (stable), so those of image ``i`` are
    ``slice(image_offsets[i], image_offsets[i + 1])``.

    Example
    -------
    >>> index = PlanIndex([1, 2], [(100, 80), (50, 50)], ann_ids=[7], ann_image=[1],
    ...                   ann_ltrb=[(10, 10, 20, 30)], ann_label=[0], class_ids=[3])
    >>> index.n_images, index.n_annots, index.image_annots(1).tolist()
    (2, 1, [0])
    """

    def __init__(self, image_ids: Sequence[int], image_dsize: Any, ann_ids: Sequence[int] = (),
                 ann_image: Sequence[int] = (), ann_ltrb: Any = (), ann_label: Sequence[int] = (),
                 class_ids: Sequence[int] = (), class_names: Sequence[str] | None = None):
        image_ids = np.asarray(image_ids, dtype=np.int64)
        image_dsize = np.asarray(image_dsize, dtype=np.int64).reshape(-1, 2)
        ann_ids = np.asarray(ann_ids, dtype=np.int64)
        ann_image = np.asarray(ann_image, dtype=np.int64)
        ann_ltrb = np.asarray(ann_ltrb, dtype=np.float64).reshape(-1, 4)
        ann_label = np.asarray(ann_label, dtype=np.int64)
        if len(image_dsize) != len(image_ids):
            raise errors.InvalidOptionError('image_dsize', f'{len(image_dsize)} sizes',
                                            f'one (width, height) per image ({len(image_ids)})')
        lengths = {len(ann_ids), len(ann_image), len(ann_ltrb), len(ann_label)}
        if len(lengths) != 1:
            raise errors.InvalidOptionError('annotation arrays', f'lengths {sorted(lengths)}',
                                            'ann_ids, ann_image, ann_ltrb, ann_label of equal length')
        if len(ann_image) and (ann_image.min() < 0 or ann_image.max() >= len(image_ids)):
            raise errors.InvalidOptionError('ann_image', 'out-of-range positions',
                                            f'image positions in [0, {len(image_ids)})')
        self.class_ids = np.asarray(class_ids, dtype=np.int64)
        if len(ann_label) and (ann_label.min() < 0 or ann_label.max() >= len(self.class_ids)):
            raise errors.InvalidOptionError('ann_label', 'out-of-range labels',
                                            f'class indexes in [0, {len(self.class_ids)})')
        self.class_names = (list(class_names) if class_names is not None
                            else [str(c) for c in self.class_ids.tolist()])
        order = np.argsort(ann_image, kind='stable')
        self.image_ids = image_ids
        self.image_dsize = image_dsize
        self.ann_ids = ann_ids[order]
        self.ann_image = ann_image[order]
        self.ann_ltrb = ann_ltrb[order]
        self.ann_label = ann_label[order]
        counts = np.bincount(self.ann_image, minlength=len(image_ids))
        self.image_offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        label_order = np.argsort(self.ann_label, kind='stable')
        label_counts = np.bincount(self.ann_label, minlength=len(self.class_ids))
        #: annotation positions grouped by class: class k owns label_members[label_offsets[k]:label_offsets[k+1]]
        self.label_members = label_order
        self.label_offsets = np.concatenate([[0], np.cumsum(label_counts)]).astype(np.int64)
        self._cid_to_label = {int(c): i for i, c in enumerate(self.class_ids.tolist())}

    @property
    def n_images(self) -> int:
        """Number of images."""
        return len(self.image_ids)

    @property
    def n_annots(self) -> int:
        """Number of annotations with a box."""
        return len(self.ann_ids)

    @property
    def n_classes(self) -> int:
        """Number of class indexes."""
        return len(self.class_ids)

    def image_annots(self, image_pos: int) -> np.ndarray:
        """Annotation positions (into the ``ann_*`` arrays) of the image at position ``image_pos``."""
        return np.arange(self.image_offsets[image_pos], self.image_offsets[image_pos + 1])

    def labels_of(self, category_ids: Sequence[int]) -> np.ndarray:
        """Class indexes of category ids (int64); unknown ids raise :class:`ndsampler.errors.UnknownIdError`."""
        try:
            return np.array([self._cid_to_label[int(c)] for c in category_ids], dtype=np.int64)
        except KeyError as ex:
            raise errors.UnknownIdError(
                f'category id {ex.args[0]!r} is not a class; known ids: {self.class_ids.tolist()}') from None

    def label_of_class(self, key: int | str) -> int:
        """Class index of a category id or class name."""
        if isinstance(key, str):
            if key in self.class_names:
                return self.class_names.index(key)
            raise errors.UnknownIdError(f'class name {key!r} is unknown; known: {self.class_names}')
        return int(self.labels_of([key])[0])

    @classmethod
    def from_coco(cls, dset: Any, classes: Any = None) -> 'PlanIndex':
        """Build from a ``kwcoco.CocoDataset`` (annotations without a ``bbox`` are skipped).

        Parameters
        ----------
        dset : kwcoco.CocoDataset
        classes : kwcoco.CategoryTree, optional
            Defines the class indexes; defaults to ``dset.object_categories()`` (what
            ``CocoSampler.classes`` is).
        """
        if classes is None:
            classes = dset.object_categories()
        gids = sorted(dset.imgs.keys())
        if any(dset.imgs[g].get('width') is None or dset.imgs[g].get('height') is None for g in gids):
            dset._ensure_imgsize()
        dsize = [(dset.imgs[g]['width'], dset.imgs[g]['height']) for g in gids]
        gid_to_pos = {g: i for i, g in enumerate(gids)}
        anns = [a for a in dset.anns.values() if a.get('bbox') is not None]
        xywh = np.array([a['bbox'] for a in anns], dtype=np.float64).reshape(-1, 4)
        ltrb = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1)
        class_ids = [int(c) for c in classes.idx_to_id]
        cid_to_label = {c: i for i, c in enumerate(class_ids)}
        return cls(gids, dsize,
                   ann_ids=[a['id'] for a in anns],
                   ann_image=[gid_to_pos[a['image_id']] for a in anns],
                   ann_ltrb=ltrb,
                   ann_label=[cid_to_label[a['category_id']] for a in anns],
                   class_ids=class_ids, class_names=list(classes.idx_to_node))

    @classmethod
    def coerce(cls, data: Any) -> 'PlanIndex':
        """A ``PlanIndex`` from itself, a sampler (anything with ``plan_index`` or ``dset``) or a kwcoco dataset."""
        if isinstance(data, PlanIndex):
            return data
        index = getattr(data, 'plan_index', None)
        if isinstance(index, PlanIndex):
            return index
        if hasattr(data, 'dset'):
            return cls.from_coco(data.dset, classes=getattr(data, 'classes', None))
        if hasattr(data, 'anns') and hasattr(data, 'imgs'):
            return cls.from_coco(data)
        raise errors.InvalidOptionError('plan source', type(data).__name__,
                                        'a PlanIndex, a sampler or a kwcoco.CocoDataset')

    def __repr__(self) -> str:
        return f'PlanIndex(n_images={self.n_images}, n_annots={self.n_annots}, n_classes={self.n_classes})'
