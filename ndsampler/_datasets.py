"""Train / validation / test datasets from a config (ndsampler 0.8's ``coerce_data``)."""
from __future__ import annotations

import os
import warnings
from typing import Any, Mapping

import numpy as np

__all__ = ['coerce_datasets', 'split_train_vali_test']

#: Seeds of the two stratified splits, so a dataset always splits the same way (the values 0.8 used).
_LEARN_TEST_SEED = 2997217409
_TRAIN_VALI_SEED = 140860164


def _first_fold(gids: np.ndarray, cids: np.ndarray, n_splits: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows of the first (rest, held-out) fold, grouped by image and stratified by category."""
    import kwarray
    from kwcoco.util.util_sklearn import StratifiedGroupKFold
    folds = StratifiedGroupKFold(n_splits=n_splits, random_state=kwarray.ensure_rng(seed), shuffle=True)
    return next(iter(folds.split(X=gids, y=cids, groups=gids)))


def split_train_vali_test(coco_dset, factor: int = 3) -> dict[str, list[int]]:
    """Split the images with annotations into disjoint ``train`` / ``vali`` / ``test`` image-id lists.

    Images stay whole (grouped folds) and categories keep their proportions (stratified):
    ``1 / factor`` of the annotations go to test, then ``1 / factor`` of the rest to vali.
    Deterministic.

    Example
    -------
    >>> import kwcoco
    >>> split = split_train_vali_test(kwcoco.CocoDataset.demo('shapes8'))
    >>> sorted(split), set(split['train']).isdisjoint(split['test'])
    (['test', 'train', 'vali'], True)
    """
    gids, cids = [], []
    for gid in coco_dset.imgs:
        for aid in coco_dset.index.gid_to_aids.get(gid, []):
            gids.append(gid)
            cids.append(coco_dset.anns[aid]['category_id'])
    gids, cids = np.asarray(gids), np.asarray(cids)
    learn, test = _first_fold(gids, cids, factor, _LEARN_TEST_SEED)
    train, vali = _first_fold(gids[learn], cids[learn], factor, _TRAIN_VALI_SEED)
    train_ids = set(gids[learn][train].tolist())
    vali_ids = set(gids[learn][vali].tolist()) - train_ids
    test_ids = set(gids[test].tolist()) - train_ids - vali_ids
    return {'train': sorted(train_ids), 'vali': sorted(vali_ids), 'test': sorted(test_ids)}


def _as_dataset(data: Any) -> Any:
    """A CocoDataset from None, a dataset, a file path or a demo code (``'special:shapes8'``)."""
    import kwcoco
    if data is None or isinstance(data, kwcoco.CocoDataset):
        return data
    if not isinstance(data, (str, os.PathLike)):
        from ndsampler.errors import InvalidOptionError
        raise InvalidOptionError('dataset', data, 'None, a kwcoco.CocoDataset, a path or "special:<demo code>"')
    text = str(data)
    for prefix in ('path:', 'PATH:'):
        if text.startswith(prefix):
            text = text[len(prefix):]
    fpath = os.path.expanduser(text)
    if os.path.exists(fpath):
        return kwcoco.CocoDataset(fpath)
    if text.lower().startswith('special:'):
        return kwcoco.CocoDataset.demo(text[len('special:'):].lower())
    warnings.warn(f'dataset {text!r} is not a file; read as a kwcoco demo code (write "special:{text}")')
    return kwcoco.CocoDataset.demo(text)


def coerce_datasets(config: Mapping[str, Any], build_hashid: bool = False, verbose: int = 1) -> dict[str, Any]:
    """The ``train`` / ``vali`` / ``test`` datasets a config names.

    Parameters
    ----------
    config : mapping
        ``train_dataset`` / ``vali_dataset`` / ``test_dataset`` (each a dataset, path or
        ``'special:<demo code>'``); when none is given, ``datasets`` is split with
        :func:`split_train_vali_test` (``split_factor``, default 3; ``no_test=True`` merges
        test into train).
    build_hashid : bool
        Compute each dataset's hashid (annotations only, no pixels).
    verbose : int
        Print what is done.

    Returns
    -------
    dict[str, kwcoco.CocoDataset]
        Only the subsets that exist.
    """
    subsets = {tag: _as_dataset(config.get(f'{tag}_dataset')) for tag in ('train', 'vali', 'test')}
    if all(dset is None for dset in subsets.values()):
        base = _as_dataset(config.get('datasets'))
        if base is not None:
            if verbose:
                print(f'[ndsampler] splitting {base.tag!r} into train / vali / test')
            split = split_train_vali_test(base, factor=config.get('split_factor', 3))
            if config.get('no_test', False):
                split['train'] = sorted(split['train'] + split.pop('test'))
            for tag, gids in split.items():
                subsets[tag] = base.subset(gids, copy=True)
                subsets[tag].tag = f'{base.tag}-{tag}'
    subsets = {tag: dset for tag, dset in subsets.items() if dset is not None}
    if build_hashid:
        for dset in subsets.values():
            dset._build_hashid(hash_pixels=False)
    return subsets
