"""Flat columns of a kwcoco dataset's images and boxed annotations, read once.

A JSON dataset (``kwcoco.CocoDataset``) is read from its dicts; kwcoco's SQL view
(``kwcoco.CocoSqlDatabase``, ``dset.view_sql()``) with one query per table straight from its
columns (``_bbox_x`` ... are the box kwcoco stores beside the JSON ``bbox``): iterating its
``dataset['annotations']`` builds an ORM object and decodes the JSON of every column of every
row, ~100x slower at a million annotations. Both give the rows in the order the dataset
iterates them (the SQL view iterates by id).
"""
from __future__ import annotations

import json
import os
import weakref
from typing import Any, NamedTuple

import numpy as np

__all__ = ['BoxColumns', 'ImageColumns', 'box_columns', 'image_columns', 'image_annotation_values', 'is_sql_view',
           'reconnect_after_fork']


class ImageColumns(NamedTuple):
    """``ids`` (n,) int64 and ``dsize`` (n, 2) float ``(w, h)``, NaN where the image has no width / height."""

    ids: np.ndarray
    dsize: np.ndarray


class BoxColumns(NamedTuple):
    """The annotations that have a ``bbox``: ``aid``, ``gid``, ``category_id`` (-1: none) int64, ``xywh`` (n, 4)."""

    aid: np.ndarray
    gid: np.ndarray
    category_id: np.ndarray
    xywh: np.ndarray


def is_sql_view(dset: Any) -> bool:
    """True for kwcoco's SQL view (a connected ``kwcoco.CocoSqlDatabase``), False for a JSON dataset.

    Example
    -------
    >>> import kwcoco
    >>> is_sql_view(kwcoco.CocoDataset())
    False
    """
    return getattr(dset, 'session', None) is not None and hasattr(dset, 'engine')


#: SQL views that get a connection of their own in each forked child (see :func:`reconnect_after_fork`).
_FOLLOWED: 'weakref.WeakSet[Any]' = weakref.WeakSet()
#: The parent's sessions and engines of those views in a forked child: kept alive and never used, so no
#: finalizer rolls back or closes a connection that belongs to the parent.
_ORPHANS: list = []


def reconnect_after_fork(dset: Any) -> None:
    """Give kwcoco's SQL view ``dset`` a read-only connection of its own in every forked child.

    A SQLite (or PostgreSQL) connection must not be used across ``fork`` and kwcoco leaves
    that to the caller; DataLoader workers fork. No-op for a JSON dataset.
    """
    if is_sql_view(dset):
        _FOLLOWED.add(dset)


def _reconnect_followed() -> None:
    for dset in list(_FOLLOWED):
        if is_sql_view(dset):
            _ORPHANS.append((dset.session, dset.engine))
            dset.connect(readonly=True)


os.register_at_fork(after_in_child=_reconnect_followed)


def _sql_rows(dset: Any, query: str, **params: Any) -> list | None:
    """Rows of ``query`` (bound ``params``) on kwcoco's SQL view ``dset``; None for a JSON dataset.

    Without parameters the query runs on the session's DBAPI connection (plain tuples: a
    million rows come back ~2x faster than as SQLAlchemy rows).
    """
    if not is_sql_view(dset):
        return None
    import sqlalchemy
    if params:
        return dset.session.execute(sqlalchemy.text(query), params).fetchall()
    cursor = dset.session.connection().connection.dbapi_connection.cursor()
    try:
        cursor.execute(query)
        return cursor.fetchall()
    finally:
        cursor.close()


def image_columns(dset: Any) -> ImageColumns:
    """Every image's id and size, in dataset order.

    Example
    -------
    >>> import kwcoco
    >>> dset = kwcoco.CocoDataset()
    >>> _ = dset.add_image(file_name='a.png', width=7, height=5), dset.add_image(file_name='b.png')
    >>> image_columns(dset).dsize.tolist()
    [[7.0, 5.0], [nan, nan]]
    """
    rows = _sql_rows(dset, 'SELECT id, width, height FROM images ORDER BY id')
    if rows is None:
        imgs = dset.dataset['images']
        rows = [(img['id'], img.get('width'), img.get('height')) for img in imgs]
    table = np.array(rows, dtype=float).reshape(len(rows), 3)  # a missing size (None) -> NaN
    return ImageColumns(table[:, 0].astype(np.int64), table[:, 1:].copy())


def box_columns(dset: Any) -> BoxColumns:
    """Every annotation with a ``bbox``, in dataset order.

    Example
    -------
    >>> import kwcoco
    >>> dset = kwcoco.CocoDataset()
    >>> gid = dset.add_image(file_name='a.png', width=7, height=5)
    >>> _ = dset.add_annotation(image_id=gid, bbox=[1, 2, 3, 4]), dset.add_annotation(image_id=gid)
    >>> cols = box_columns(dset)
    >>> cols.aid.tolist(), cols.category_id.tolist(), cols.xywh.tolist()
    ([1], [-1], [[1.0, 2.0, 3.0, 4.0]])
    """
    rows = _sql_rows(dset, 'SELECT id, image_id, category_id, _bbox_x, _bbox_y, _bbox_w, _bbox_h '
                           'FROM annotations WHERE _bbox_x IS NOT NULL ORDER BY id')
    if rows is None:
        rows = [(ann['id'], ann['image_id'], ann.get('category_id'), *ann['bbox'])
                for ann in dset.dataset['annotations'] if ann.get('bbox') is not None]
    table = np.array(rows, dtype=float).reshape(len(rows), 7)  # no category (None) -> NaN
    cids = table[:, 2]
    return BoxColumns(table[:, 0].astype(np.int64), table[:, 1].astype(np.int64),
                      np.where(np.isnan(cids), -1, cids).astype(np.int64), table[:, 3:].copy())


def _annotation_columns() -> frozenset[str]:
    from kwcoco.coco_sql_dataset import Annotation
    return frozenset(Annotation.__table__.columns.keys())


def image_annotation_values(dset: Any, gid: int, key: str) -> list | None:
    """``ann.get(key)`` of every annotation of image ``gid``, in one query on kwcoco's SQL view.

    None for a JSON dataset (its dicts are at hand) and for a key that is not a column of
    kwcoco's annotations table.
    """
    if not is_sql_view(dset) or key.startswith('_') or key not in _annotation_columns():
        return None
    rows = _sql_rows(dset, f'SELECT {key} FROM annotations WHERE image_id = :gid', gid=int(gid))
    return [None if raw is None else json.loads(raw) if isinstance(raw, str) else raw for (raw,) in rows]
