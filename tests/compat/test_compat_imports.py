"""ndsampler 0.8.1's module paths and names import and do what 0.8.1's did (COMPAT.md, SPEC §6)."""
import subprocess
import sys

import kwcoco
import kwimage
import numpy as np
import pytest

import ndsampler

#: The public names of each ndsampler 0.8.1 module, as 0.8.1 offered them to ``from <module> import *``
#: (its ``__all__`` or, without one, its public globals; the imported helper modules such as ``np`` are
#: checked separately below).
UPSTREAM_NAMES = {
    'ndsampler.abstract_frames': ['Frames', 'SimpleFrames', 'AlignableImageData'],
    'ndsampler.abstract_sampler': ['AbstractSampler'],
    'ndsampler.category_tree': ['CategoryTree'],
    'ndsampler.coco_dataset': ['CocoDataset'],
    'ndsampler.coco_frames': ['CocoFrames'],
    'ndsampler.coco_regions': ['CocoRegions', 'MissingNegativePool', 'Targets', 'new_image_sample_grid',
                               'new_video_sample_grid', 'select_positive_regions', 'tabular_coco_targets'],
    'ndsampler.coco_sampler': ['CocoSampler', 'ChannelSpec', 'FusedChannelSpec'],
    'ndsampler.coerce_data': ['coerce_datasets'],
    'ndsampler.frame_cache': ['CorruptCOG'],
    'ndsampler.isect_indexer': ['FrameIntersectionIndex'],
    'ndsampler.toydata': ['DynamicToySampler', 'CategoryPatterns', 'demodata_toy_dset', 'demodata_toy_img'],
    'ndsampler.utils': [],
    'ndsampler.utils.util_gdal': ['LazyGDalFrameFile', 'have_gdal', 'validate_nonzero_data', 'batch_convert_to_cog',
                                  'batch_validate_cog'],
    'ndsampler.utils.util_lru': ['LRUDict'],
    'ndsampler.utils.util_misc': ['HashIdentifiable'],
    'ndsampler.utils.validate_cog': ['validate', 'main', 'Usage', 'ValidateCloudOptimizedGeoTIFFException'],
    'ndsampler.utils.util_futures': ['Executor', 'SerialExecutor', 'as_completed'],
    'ndsampler.utils.util_shape': ['nestshape'],
    'ndsampler.utils.util_sklearn': ['StratifiedGroupKFold'],
}

#: Helper modules 0.8.1's docstring examples use straight after ``from <module> import *``.
UPSTREAM_HELPERS = {
    'ndsampler.coco_sampler': ['np', 'ub', 'kwimage', 'kwcoco'],
    'ndsampler.coco_regions': ['np', 'ub', 'kwimage', 'kwarray'],
    'ndsampler.isect_indexer': ['np', 'ub', 'kwimage', 'kwarray'],
    'ndsampler.abstract_frames': ['np', 'ub'],
    'ndsampler.toydata': ['np', 'kwimage', 'kwarray', 'nx'],
}

#: ndsampler 0.8.1's ``ndsampler.__all__``.
UPSTREAM_TOP = ['AbstractSampler', 'CategoryTree', 'CocoFrames', 'CocoRegions', 'CocoSampler', 'DynamicToySampler',
                'FrameIntersectionIndex', 'Frames', 'HashIdentifiable', 'MissingNegativePool', 'SimpleFrames',
                'Targets', 'abstract_frames', 'abstract_sampler', 'category_tree', 'coco_frames', 'coco_regions',
                'coco_sampler', 'isect_indexer', 'select_positive_regions', 'tabular_coco_targets', 'toydata']


@pytest.fixture(scope='module')
def shapes(tmp_path_factory):
    return kwcoco.CocoDataset.demo('shapes8', dpath=tmp_path_factory.mktemp('shapes'), verbose=0)


@pytest.mark.parametrize('module', sorted(UPSTREAM_NAMES))
def test_star_import_gives_upstream_names(module):
    namespace = {}
    exec(f'from {module} import *', namespace)
    missing = [name for name in UPSTREAM_NAMES[module] + UPSTREAM_HELPERS.get(module, []) if name not in namespace]
    assert not missing


def test_top_level_names():
    assert set(UPSTREAM_TOP) <= set(ndsampler.__all__)
    namespace = {}
    exec('from ndsampler import *', namespace)
    assert set(UPSTREAM_TOP) <= set(namespace)
    assert ndsampler.coco_sampler.CocoSampler is ndsampler.CocoSampler
    assert ndsampler.toydata.DynamicToySampler is ndsampler.DynamicToySampler
    assert 'CategoryTree' in dir(ndsampler)
    with pytest.raises(AttributeError, match='no attribute'):
        ndsampler.not_a_name


def test_package_import_stays_light():
    """The 0.8.1 names are loaded on first use: ``import ndsampler`` pulls in neither torch nor networkx."""
    code = ('import sys, ndsampler; print(sorted(m for m in ("torch", "networkx", "sklearn", "ndsampler.coco_sampler")'
            ' if m in sys.modules))')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == '[]'


def test_modules_are_attributes_without_an_import():
    """As after 0.8.1's ``import ndsampler`` (which imported them): ``ndsampler.utils.util_gdal`` etc."""
    code = ('import ndsampler; print(ndsampler.utils.util_gdal.have_gdal(), ndsampler.frame_cache.CorruptCOG.__name__,'
            ' ndsampler.coco_regions.CocoRegions.__name__, ndsampler.utils.util_lru.LRUDict.__name__)')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ['True', 'ImageReadError', 'CocoRegions', 'LRUDict']


def test_same_objects_as_our_layout():
    from ndsampler import coco_regions, frames, regions, sampler
    from ndsampler.abstract_frames import SimpleFrames
    from ndsampler.coco_frames import CocoFrames
    assert coco_regions.CocoRegions is regions.CocoRegions
    assert CocoFrames is frames.CocoFrames and SimpleFrames is frames.SimpleFrames
    assert ndsampler.abstract_sampler.AbstractSampler is sampler.AbstractSampler
    assert ndsampler.coco_dataset.CocoDataset is kwcoco.CocoDataset
    from ndsampler.frame_cache import CorruptCOG
    assert issubclass(CorruptCOG, OSError) and issubclass(CorruptCOG, ndsampler.NdsamplerError)


def test_abstract_interfaces(shapes):
    sampler = ndsampler.CocoSampler(shapes)
    assert isinstance(sampler, ndsampler.AbstractSampler)
    assert isinstance(sampler.regions, ndsampler.Targets)
    with pytest.raises(ndsampler.MissingNegativePool):
        sampler.regions.get_negative(0)
    with pytest.raises(AssertionError):  # 0.8.1's class was an AssertionError
        sampler.regions.get_negative(0)

    class Half(ndsampler.AbstractSampler):
        pass
    with pytest.raises(NotImplementedError):
        Half().load_positive(0)


def test_targets_generic_preselect():
    class Counting(ndsampler.Targets):
        def _preselect_positives(self, num, window_dims, rng, verbose):
            return 4 if num is None else num

        def _preselect_negatives(self, num, window_dims, rng, verbose):
            return num
    assert Counting().preselect(neg_to_pos_ratio=0.5) == (4, 2)
    assert Counting().preselect(n_pos=3, n_neg=1) == (3, 1)
    with pytest.raises(ValueError, match='n_neg'):
        Counting().preselect(n_neg=1, neg_to_pos_ratio=1)


def test_hash_identifiable():
    class Thing(ndsampler.HashIdentifiable):
        def __init__(self, value):
            super().__init__()
            self.value = value

        def _depends(self):
            return [self.value]
    assert Thing(1).hashid == Thing(1).hashid != Thing(2).hashid
    with pytest.raises(NotImplementedError, match='_depends'):
        ndsampler.HashIdentifiable().hashid


def _brute_force(shapes, gid, query):
    """(aid, iou, iooa) of every annotation with a positive-area overlap, by plain numpy."""
    out = []
    qx0, qy0, qx1, qy1 = query
    for aid in sorted(shapes.index.gid_to_aids[gid]):
        x, y, w, h = shapes.anns[aid]['bbox']
        iw = min(x + w, qx1) - max(x, qx0)
        ih = min(y + h, qy1) - max(y, qy0)
        if iw > 0 and ih > 0:
            inter = iw * ih
            out.append((aid, inter / (w * h + (qx1 - qx0) * (qy1 - qy0) - inter), inter / (w * h)))
    return out


@pytest.mark.parametrize('use_rtree', ['0', '1', None])
def test_frame_intersection_index(shapes, monkeypatch, use_rtree):
    """Same answers whatever USE_RTREE says (0.8.1 read it inverted; it is not read here)."""
    from ndsampler.isect_indexer import FrameIntersectionIndex
    if use_rtree is None:
        monkeypatch.delenv('USE_RTREE', raising=False)
    else:
        monkeypatch.setenv('USE_RTREE', use_rtree)
    index = FrameIntersectionIndex.from_coco(shapes)
    assert index.all_gids == sorted(shapes.imgs)
    gid = index.all_gids[0]
    qtree = index.qtrees[gid]
    assert (qtree.width, qtree.height) == (shapes.imgs[gid]['width'], shapes.imgs[gid]['height'])
    whole = kwimage.Boxes([0, 0, qtree.width, qtree.height], 'xywh')
    assert index.overlapping_aids(gid, whole) == sorted(shapes.index.gid_to_aids[gid])
    for query in ([0, 0, 300, 300], [100, 150, 400, 500], [250, 0, 600, 200]):
        expect = _brute_force(shapes, gid, query)
        aids, ious = index.ious(gid, kwimage.Boxes([query], 'ltrb'))
        assert aids == [e[0] for e in expect] == qtree.intersect(query)
        np.testing.assert_allclose(ious, [e[1] for e in expect])
        aids, iooas = index.iooas(gid, np.array(query))
        assert iooas.shape == ious.shape == (len(expect),)  # 0.8.1's iooas was (1, N) when N > 0
        np.testing.assert_allclose(iooas, [e[2] for e in expect])
    assert len(index._support(gid)) == len(shapes.index.gid_to_aids[gid])


def test_touching_boxes_do_not_overlap():
    """Overlap is a positive-area intersection: a box that only shares an edge or a corner is not returned."""
    dset = kwcoco.CocoDataset()
    gid = dset.add_image(file_name='a.png', width=100, height=100)
    cid = dset.add_category('thing')
    inside = dset.add_annotation(image_id=gid, category_id=cid, bbox=[10, 10, 20, 20])
    dset.add_annotation(image_id=gid, category_id=cid, bbox=[30, 10, 20, 20])  # its left edge is the query's right
    dset.add_annotation(image_id=gid, category_id=cid, bbox=[30, 30, 5, 5])  # shares the corner (30, 30)
    index = ndsampler.FrameIntersectionIndex.from_coco(dset)
    assert index.overlapping_aids(gid, [20, 20, 30, 30]) == [inside]
    assert index.ious(gid, [20, 20, 30, 30])[0] == [inside]


def test_coco_sampler_channel_classes_are_ours():
    from ndsampler.coco_sampler import ChannelSpec, FusedChannelSpec
    assert ChannelSpec is ndsampler.ChannelSpec and FusedChannelSpec is ndsampler.FusedChannelSpec
    assert FusedChannelSpec.coerce('B1|B8').as_list() == ['B1', 'B8']
    assert [s.spec for s in ChannelSpec.coerce('rgb,B1|B8').streams()] == ['rgb', 'B1|B8']


def test_random_negatives_avoid_positives(shapes):
    index = ndsampler.FrameIntersectionIndex.from_coco(shapes)
    gids, boxes = index.random_negatives(6, window_size=(40, 40), thresh=0.01, rng=0)
    assert len(gids) == 6 and boxes.shape == (6, 4)
    np.testing.assert_allclose(boxes.width, 40)
    for gid, box in zip(gids.tolist(), boxes.data):
        _, iooas = index.iooas(gid, box)
        assert len(iooas) == 0 or iooas.max() < 0.01
    gids, boxes = index.random_negatives(3, anchors=np.array([[0.1, 0.1]]), rng=1, thresh=0.5)
    assert len(gids) == 3
    with pytest.raises(ValueError, match='window_size'):
        index.random_negatives(3, rng=0)
    with pytest.raises(ValueError, match='found'):
        index.random_negatives(3, window_size=(10_000, 10_000), rng=0)


def test_tabular_targets_and_positive_selection(shapes):
    from ndsampler.coco_regions import select_positive_regions, tabular_coco_targets
    table = tabular_coco_targets(shapes)
    assert sorted(table.keys()) == sorted(['aid', 'gid', 'category_id', 'cx', 'cy', 'width', 'height',
                                           'img_width', 'img_height'])
    assert len(table) == shapes.n_annots
    first = shapes.dataset['annotations'][0]
    x, y, w, h = first['bbox']
    row = list(table['aid']).index(first['id'])
    np.testing.assert_allclose([table['cx'][row], table['cy'][row], table['width'][row]], [x + w / 2, y + h / 2, w],
                               rtol=1e-6)
    keep = select_positive_regions(table, window_dims=(200, 200), rng=0)
    assert np.all(np.diff(keep) > 0) and 0 < len(keep) < len(table)
    for gid in set(table['gid'][keep].tolist()):  # kept windows of one image do not overlap
        rows = keep[table['gid'][keep] == gid]
        windows = kwimage.Boxes(np.stack([table['cx'][rows], table['cy'][rows], np.full(len(rows), 200),
                                          np.full(len(rows), 200)], axis=1), 'cxywh')
        ious = windows.ious(windows)
        assert np.all(ious[~np.eye(len(rows), dtype=bool)] <= 0)
    np.testing.assert_array_equal(keep, select_positive_regions(table, window_dims=(200, 200), rng=0))


def test_image_and_video_grids(shapes, tmp_path):
    from ndsampler.coco_regions import new_image_sample_grid, new_video_sample_grid
    grid = new_image_sample_grid(shapes, (128, 128))
    assert len(grid['positives']) + len(grid['negatives']) == len(grid['targets']) > 0
    vids = kwcoco.CocoDataset.demo('vidshapes1', dpath=tmp_path / 'vid', verbose=0, num_frames=3)
    grid = new_video_sample_grid(vids, (2, 64, 64))
    assert grid['targets'] and all('gids' in tr for tr in grid['targets'])


def test_dynamic_toy_sampler():
    from ndsampler.toydata import DynamicToySampler
    sampler = DynamicToySampler(10, seed=3)
    assert len(sampler) == 20 and sampler.lookup_class_name(0) == 'background'
    pos = sampler.load_positive(1, window_dims=(48, 64))
    assert pos['im'].shape[:2] == (48, 64) and pos['target']['aid'] == 1
    assert len(pos['annots']['aids']) == len(pos['annots']['rel_cxywh']) > 0
    assert pos['target']['gid'] == sampler.load_positive(1, window_dims=(48, 64))['target']['gid']  # seeded by index
    neg = sampler.load_item(15, window_dims=(32, 32))
    assert neg['target']['aid'] == -1 and neg['target']['category_id'] == sampler.BACKGROUND_CLASS_ID
    assert sampler.load_image(0).ndim == 3
    assert sampler.preselect(neg_to_pos_ratio=0.5) == (10, 5)
    assert isinstance(sampler.catgraph, ndsampler.CategoryTree)


def test_lru_dict():
    from ndsampler.utils.util_lru import LRUDict
    cache = LRUDict.new(3)
    for key in 'abc':
        cache[key] = key.upper()
    assert cache['a'] == 'A'
    cache['d'] = 'D'  # evicts b, the least recently used
    assert list(cache) == ['c', 'a', 'd'] and 'b' not in cache and len(cache) == 3
    cache.set_size(1)
    assert dict(cache.items()) == {'d': 'D'}
    with pytest.raises(ValueError, match='max_size'):
        LRUDict(-1)


def test_coerce_datasets(shapes, tmp_path, monkeypatch):
    from ndsampler.coerce_data import _split_train_vali_test, coerce_datasets
    split = _split_train_vali_test(shapes)
    parts = [set(split[k]) for k in ('train', 'vali', 'test')]
    assert all(parts) and not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
    assert split == _split_train_vali_test(shapes)
    subsets = coerce_datasets({'datasets': shapes}, verbose=0)
    assert {k: sorted(v.imgs) for k, v in subsets.items()} == split
    monkeypatch.chdir(tmp_path)
    shapes.copy().dump('hat.kwcoco.json')
    # only the 'path:' prefix is removed (0.8.1 stripped any leading p, a, t, h, ':' and lost 'hat')
    from_path = coerce_datasets({'vali_dataset': 'path:hat.kwcoco.json'}, verbose=0)
    assert from_path['vali'].n_images == shapes.n_images
    explicit = coerce_datasets({'train_dataset': shapes, 'datasets': 'ignored'}, verbose=0)
    assert list(explicit) == ['train'] and explicit['train'] is shapes
    assert coerce_datasets({'datasets': shapes, 'no_test': True}, verbose=0).keys() == {'train', 'vali'}


def test_validate_cog_and_gdal_helpers(tmp_path):
    from ndsampler.utils import util_gdal
    from ndsampler.utils.validate_cog import ValidateCloudOptimizedGeoTIFFException, main, validate
    cog = tmp_path / 'a.tif'
    util_gdal._imwrite_cloud_optimized_geotiff(cog, np.arange(300 * 300 * 2, dtype=np.uint16).reshape(300, 300, 2))
    plain = tmp_path / 'b.png'
    kwimage.imwrite(plain, np.zeros((8, 8), np.uint8))
    assert util_gdal.have_gdal()
    assert validate(str(cog)) == ([], [], {})
    assert validate(str(plain))[1]
    infos = {info['fpath']: info for info in util_gdal.batch_validate_cog([cog, plain])}
    assert infos[str(cog)]['status'] == 'pass' and infos[str(plain)]['status'] == 'fail'
    assert infos[str(plain)]['errors'] == validate(str(plain))[1]
    assert main(['-q', str(cog)]) == 0 and main(['-q', str(plain)]) == 1
    with pytest.raises(ValidateCloudOptimizedGeoTIFFException):
        validate(str(tmp_path / 'missing.tif'))


def test_small_utils():
    from ndsampler.utils.util_futures import Executor
    from ndsampler.utils.util_shape import nestshape
    with Executor(mode='serial', max_workers=0) as pool:
        assert pool.submit(sum, [1, 2]).result() == 3
    assert nestshape({'a': [np.zeros((2, 1))], 'b': 3}) == {'a': [(2, 1)], 'b': 3}


def test_center_extent_to_slice():
    from ndsampler.coco_sampler import _center_extent_to_slice
    assert _center_extent_to_slice((2, 5), (6, 6)) == (slice(-1, 5), slice(2, 8))
    assert _center_extent_to_slice((2, 5), (64, 64)) == (slice(-30, 34), slice(-27, 37))
    assert _center_extent_to_slice((1.5, 2, 5), (3, 6, 6)) == (slice(0, 3), slice(-1, 5), slice(2, 8))
    # a centre one float step below an integer is that integer (0.8.1 floored 924.99999... to 924)
    assert _center_extent_to_slice((500.5, 974.9999999999999), (100, 100)) == (slice(450, 550), slice(925, 1025))


def test_lazy_gdal_frame_file(tmp_path):
    from ndsampler.utils.util_gdal import LazyGDalFrameFile, batch_convert_to_cog, validate_nonzero_data
    data = (np.arange(40 * 50 * 3) % 251).astype(np.uint8).reshape(40, 50, 3)
    src = tmp_path / 'src.png'
    kwimage.imwrite(src, data)
    dst = tmp_path / 'dst.tif'
    batch_convert_to_cog([src], [dst], mode='serial')
    lazy = LazyGDalFrameFile(dst)
    assert lazy.cog_fpath == str(dst) and lazy.shape == (40, 50, 3) and lazy.dtype == np.uint8
    np.testing.assert_array_equal(lazy[5:9, 10:20], kwimage.imread(src)[5:9, 10:20])
    assert lazy.validate(orig_fpath=src)['status'] == 'pass'
    assert validate_nonzero_data(lazy) and not validate_nonzero_data(np.zeros((4, 4)))
    zeros = LazyGDalFrameFile(_write_zeros(tmp_path / 'zeros.tif'))
    assert zeros.validate()['warnings'] == ['image appears to be all black']
    assert zeros.validate(orig_data=data)['status'] == 'fail'
    demo = LazyGDalFrameFile.demo('checkerboard', dsize=(32, 32), dpath=tmp_path / 'demo')
    assert demo.shape[:2] == (32, 32) and demo.validate()['status'] == 'pass'


def _write_zeros(fpath):
    from ndsampler.io import write_cog
    return write_cog(fpath, np.zeros((16, 16), np.uint8))
