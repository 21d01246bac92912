"""``ndsampler prepare`` and ``ndsampler info`` in subprocesses."""
import json

import kwcoco

from ndsampler.demodata import demo_images
from ndsampler.frames import CocoFrames
from tests.backends.conformance import zero_tile


def _status(dset_fpath, backend):
    return CocoFrames(kwcoco.CocoDataset(str(dset_fpath)), backend=backend).status()


def test_prepare_twice_converts_nothing_second_time(small_dset, run_cli):
    first = run_cli('prepare', small_dset, '--backend', 'npy', '--workers', '2')
    assert first.returncode == 0, first.stderr
    assert 'converted        3' in first.stdout
    assert 'failed           0' in first.stdout
    assert 'prepare frames' in first.stderr  # the progress bar
    second = run_cli('prepare', small_dset, '--backend', 'npy')
    assert second.returncode == 0, second.stderr
    assert 'converted        0' in second.stdout
    assert 'already present  3' in second.stdout
    assert set(_status(small_dset, 'npy').values()) == {'cached'}


def test_prepare_reports_missing_image_and_converts_the_rest(small_dset, run_cli):
    dset = kwcoco.CocoDataset(str(small_dset))
    (small_dset.parent / dset.imgs[2]['file_name']).unlink()
    proc = run_cli('prepare', small_dset, '--backend', 'cog')
    assert proc.returncode == 1
    assert 'failed           1' in proc.stdout
    assert 'image 2:' in proc.stdout and 'img_0002.png' in proc.stdout
    assert 'converted        2' in proc.stdout
    assert _status(small_dset, 'cog') == {1: 'cached', 2: 'no_source', 3: 'cached'}


def test_prepare_dry_run_and_image_ids(small_dset, run_cli):
    dry = run_cli('prepare', small_dset, '--dry-run')
    assert dry.returncode == 0, dry.stderr
    assert 'to convert (missing)    3' in dry.stdout
    assert set(_status(small_dset, 'cog').values()) == {'missing'}
    some = run_cli('prepare', small_dset, '--image-ids', '1', '3')
    assert some.returncode == 0, some.stderr
    assert _status(small_dset, 'cog') == {1: 'cached', 2: 'missing', 3: 'cached'}


def test_info_counts_coverage_and_corrupt_entries(small_dset, run_cli):
    assert run_cli('prepare', small_dset, '--backend', 'npy', '--image-ids', '1,2').returncode == 0
    frames = CocoFrames(kwcoco.CocoDataset(str(small_dset)), backend='npy')
    cache_fpath = frames.cache_fpaths(2)[0]
    with open(cache_fpath, 'r+b') as file:
        file.truncate(100)
    proc = run_cli('info', small_dset, '--json')
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert (info['n_images'], info['n_videos'], info['n_annotations']) == (3, 0, 12)
    assert sum(info['categories'].values()) == 12
    assert info['channels'] == {'red|green|blue': 3}
    assert info['cache']['npy']['counts'] == {'cached': 1, 'missing': 1, 'stale': 0, 'corrupt': 1, 'no_source': 0}
    assert info['cache']['npy']['problems'] == {'corrupt': [2]}
    assert info['cache']['cog']['counts']['missing'] == 3
    text = run_cli('info', small_dset)
    assert text.returncode == 0, text.stderr
    assert 'images 3, videos 0, annotations 12, categories 4' in text.stdout
    assert 'npy: corrupt images: 2' in text.stdout


def test_deep_check_finds_and_rebuilds_a_damaged_middle_tile(tmp_path, run_cli):
    dset = demo_images(tmp_path / 'big', num_images=2, dsize=(600, 520), num_objects=3, seed=2)
    frames = CocoFrames(dset, backend='cog')
    assert frames.prepare(progress=False).ok
    zero_tile(frames.cache_fpaths(2)[0], tile=(1, 1))
    cheap = json.loads(run_cli('info', dset.fpath, '--json', '--backends', 'cog').stdout)
    assert cheap['cache']['cog']['counts']['cached'] == 2, 'a middle tile is beyond the default check'
    deep = json.loads(run_cli('info', dset.fpath, '--json', '--backends', 'cog', '--deep').stdout)
    assert deep['cache']['cog']['problems'] == {'corrupt': [2]}
    proc = run_cli('prepare', dset.fpath, '--deep')
    assert proc.returncode == 0, proc.stderr
    assert 'converted        1' in proc.stdout and 'already present  1' in proc.stdout
    assert set(CocoFrames(dset, backend='cog').status(deep=True).values()) == {'cached'}
