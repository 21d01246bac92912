"""``CocoSampler(dset.view_sql())`` (kwcoco's CocoSqlDatabase on SQLite) against the same dataset in JSON.

Every sampling mode (random, positive, negative, the preselected pool, image grids, video
grids and space-time targets) on every backend gives the same targets, pixels and
annotations; so do a forked worker (on a connection of its own) and an unpickled copy of the SQL sampler.
"""
import multiprocessing
import pickle

import kwcoco
import kwimage
import numpy as np
import pytest

from ndsampler import CocoSampler

pytest.importorskip('sqlalchemy')

BACKENDS = [None, 'npy', 'cog']
DEMOS = {'shapes8': dict(image_size=(128, 128)), 'vidshapes2': dict(image_size=(96, 96), num_frames=3)}


@pytest.fixture(scope='module', params=sorted(DEMOS))
def dsets(request, tmp_path_factory):
    """(json, sql) views of one kwcoco demo."""
    dset = kwcoco.CocoDataset.demo(request.param, dpath=tmp_path_factory.mktemp(request.param), verbose=0,
                                   **DEMOS[request.param])
    assert bool(dset.n_videos) == request.param.startswith('vid')  # space-time targets come from the video demo
    sql = dset.view_sql()
    assert isinstance(sql, kwcoco.CocoSqlDatabase)
    return dset, sql


@pytest.fixture(scope='module', params=BACKENDS, ids=str)
def samplers(request, dsets, tmp_path_factory):
    work = tmp_path_factory.mktemp('sql_work')
    dset, sql = dsets
    pair = tuple(CocoSampler(d, workdir=work / name, backend=request.param) for name, d in zip('js', (dset, sql)))
    for sampler in pair:
        sampler.preselect(n_pos=6, n_neg=6, rng=0)
    return pair


def plain(value):
    """``value`` as nested builtins, comparable with ``==`` (NaN as a string; kwimage objects by their data,
    keypoints' classes by name, category trees by their id -> name map)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        data = value.astype(object)
        if value.dtype.kind == 'f':
            data[np.isnan(value)] = 'nan'
        return (str(value.dtype), value.shape, data.tolist())
    if isinstance(value, kwimage.Points):
        # by keypoint name: the SQL view lists keypoint categories by id, a JSON file in its own
        # order, and each sampler's kp_classes (hence the indexes) follow its dataset's order
        names = [value.meta['classes'][i] for i in value.data['class_idxs']]
        return plain({**value.data, 'class_idxs': names})
    if isinstance(value, kwcoco.CategoryTree):
        return sorted(value.id_to_node.items())
    for attr in ('matrix', 'data'):  # kwimage Affine; Boxes, Detections, Polygon(List), Points(List), Coords
        if hasattr(value, attr) and not isinstance(value, np.generic):
            return plain(getattr(value, attr))
    if isinstance(value, np.generic):
        return value.item()
    return value


def assert_same_sample(a, b):
    assert plain(a['tr']) == plain(b['tr'])
    np.testing.assert_array_equal(a['im'], b['im'])
    assert plain(a['annots']) == plain(b['annots'])
    assert plain(a['params']) == plain(b['params'])


def test_same_index(samplers):
    js, sq = samplers
    assert (js.n_images, js.n_annots, js.n_positives, js.class_ids) == (sq.n_images, sq.n_annots, sq.n_positives,
                                                                        sq.class_ids)
    assert plain(js.regions.table) == plain(sq.regions.table)


@pytest.mark.parametrize('mode', ['positive', 'negative', 'item'])
def test_pooled_modes(samplers, mode):
    js, sq = samplers
    for index in range(6):
        assert_same_sample(getattr(js, f'load_{mode}')(index, rng=index), getattr(sq, f'load_{mode}')(index, rng=index))


def test_random_windows(samplers):
    js, sq = samplers
    for seed in range(4):
        target = js.regions.get_random(rng=seed)
        assert plain(target) == plain(sq.regions.get_random(rng=seed))
        assert_same_sample(js.load_sample(target), sq.load_sample(dict(target)))
        assert_same_sample(js.load_positive(rng=seed), sq.load_positive(rng=seed))


def test_grids_and_space_time(samplers):
    js, sq = samplers
    tasks = [('image_detection', (48, 48))] + [('video_detection', (2, 48, 48))] * bool(js.dset.n_videos)
    for task, dims in tasks:
        grid_js, grid_sq = js.new_sample_grid(task, dims), sq.new_sample_grid(task, dims)
        assert plain(grid_js) == plain(grid_sq)
        targets = grid_js['targets']
        for target in targets[::max(1, len(targets) // 12)]:
            assert_same_sample(js.load_sample(target), sq.load_sample(target))


def _load_positives(sampler, n):
    return [pickle.dumps(plain(sampler.load_positive(i))) for i in range(n)]


def _forked_load(sampler, n):
    return id(sampler.dset.session), _load_positives(sampler, n)


def test_forked_worker_and_unpickled_copy(samplers):
    js, sq = samplers
    expected = _load_positives(js, 4)
    ctx = multiprocessing.get_context('fork')
    with ctx.Pool(1) as pool:
        session, loaded = pool.apply_async(_forked_load, (sq, 4)).get(timeout=120)
    assert loaded == expected
    assert session != id(sq.dset.session), 'the forked worker used the connection of its parent'
    assert _load_positives(pickle.loads(pickle.dumps(sq)), 4) == expected
