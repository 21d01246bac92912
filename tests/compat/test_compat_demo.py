"""CocoSampler.demo as ndsampler 0.8.1 gives it, and what kwcoco-dataloader needs installed with the package."""
import importlib.util
import pathlib
import re

import kwcoco
import numpy as np
import pytest

from ndsampler.errors import InvalidOptionError
from ndsampler.sampler import CocoSampler

REPO = pathlib.Path(__file__).resolve().parents[2]


def test_demo_is_kwcocos_shapes_demo(tmp_path):
    sampler = CocoSampler.demo(workdir=tmp_path / 'work', dpath=tmp_path / 'demo')
    assert (sampler.n_images, sampler.n_annots) == (5, 24)  # kwcoco's 'shapes', not 'shapes8'
    assert sampler.dset.cats[0]['name'] == 'background'  # kwcoco's toy data has it already
    assert sampler.frames.cache_dpath is None and isinstance(sampler.load_image(1), np.ndarray)
    same = CocoSampler.demo('shapes', workdir=tmp_path / 'work', dpath=tmp_path / 'demo')
    assert same.n_annots == 24 and CocoSampler.demo('shapes8', workdir=tmp_path, dpath=tmp_path / 'demo8').n_images == 8


def test_demo_photos_keeps_boxed_annotations_and_adds_background(tmp_path):
    sampler = CocoSampler.demo('photos', workdir=tmp_path)
    assert all('bbox' in ann for ann in sampler.dset.anns.values()) and sampler.n_annots == 4
    assert sampler.dset.cats[0]['name'] == 'background'
    assert sampler.lookup_class_id('background') == 0


def test_demo_with_a_backend_returns_cache_files(tmp_path):
    sampler = CocoSampler.demo('shapes2', workdir=tmp_path / 'work', backend='npy', dpath=tmp_path / 'demo')
    assert sampler.frames.cache_dpath is not None
    assert isinstance(sampler.load_image(1), np.memmap)


def test_coerce_takes_what_kwcoco_coerce_takes(tmp_path):
    dset = kwcoco.CocoDataset.demo('shapes2', dpath=tmp_path / 'demo')
    sampler = CocoSampler.coerce(dset, workdir=tmp_path)
    assert sampler.dset is dset and CocoSampler.coerce(sampler) is sampler
    zipped = dset.copy()
    zipped.fpath = str(tmp_path / 'demo' / 'data.kwcoco.zip')
    zipped.dump()
    assert CocoSampler.coerce(zipped.fpath, workdir=tmp_path).n_annots == dset.n_annots
    sql = CocoSampler.coerce(dset.view_sql(), workdir=tmp_path)
    assert type(sql.dset).__name__ == 'CocoSqlDatabase' and sql.load_sample({'gid': 1})['im'].shape[2] == 3
    with pytest.raises(InvalidOptionError, match='already a CocoSampler'):  # 0.8.1: NotImplementedError
        CocoSampler.coerce(sampler, workdir=tmp_path)
    with pytest.raises(InvalidOptionError, match='coerce takes'):  # kwcoco: TypeError
        CocoSampler.coerce(3.5)


def _requirement_names(text):
    names = set()
    for line in text.splitlines():
        line = line.split('#', 1)[0].strip()
        if line and not line.startswith('-'):
            names.add(re.split(r'[<>=!~;\[ ]', line, maxsplit=1)[0].lower())
    return names


def test_runtime_requirements_cover_what_kwcoco_dataloader_imports_undeclared():
    """kwcoco-dataloader 0.1.2 imports pyqtree without declaring it (ndsampler 0.8.1 declared it)."""
    names = _requirement_names((REPO / 'requirements' / 'runtime.txt').read_text())
    assert {'pyqtree', 'tifffile'} <= names
    assert importlib.util.find_spec('pyqtree') is not None
