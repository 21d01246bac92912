"""``ndsampler show``, ``bench`` and ``demo`` in subprocesses, plus the library functions under them."""
import kwcoco
import kwimage
import numpy as np
import pytest

from ndsampler.cli import MEMMAP_LIMIT, SHOW_MODES, bench_sampling, render_samples, sample_targets
from ndsampler.cli._show import PALETTE
from ndsampler.io import is_cog
from ndsampler.sampler import CocoSampler


@pytest.mark.parametrize('mode', SHOW_MODES)
def test_show_writes_grid_png(small_dset, run_cli, tmp_path, mode):
    out = tmp_path / 'out' / f'{mode}.png'
    proc = run_cli('show', small_dset, '--mode', mode, '--num', 4, '--window', '48,64', '--out', out, '--backend', 'npy')
    assert proc.returncode == 0, proc.stderr
    im = kwimage.imread(str(out))
    assert im.shape == (2 * 48 + 4, 2 * 64 + 4, 3)
    tiles = [im[:48, :64], im[:48, 68:], im[52:, :64], im[52:, 68:]]
    assert all(tile.std() > 5 for tile in tiles)  # real pixels in every tile, not blank padding
    assert (im[48:52] == 0).all() and (im[:, 64:68] == 0).all()
    if mode == 'positive':  # every positive window shows its annotation, drawn in a class colour
        colors = {tuple(c) for c in im.reshape(-1, 3)}
        assert colors & set(PALETTE)


def test_render_samples_matches_targets(small_dset):
    sampler = CocoSampler(kwcoco.CocoDataset(str(small_dset)))
    targets = sample_targets(sampler, 'random', 5, (20, 30), seed=3)
    assert len(targets) == 5
    assert targets == sample_targets(sampler, 'random', 5, (20, 30), seed=3)
    grid = render_samples(sampler, targets, pad=2)
    assert grid.shape == (2 * 20 + 2, 3 * 30 + 2 * 2, 3) and grid.dtype == np.uint8
    assert (grid[22:, 64:] == 0).all()  # the sixth cell is empty


def test_bench_library_and_cli(small_dset, run_cli):
    rows = bench_sampling(kwcoco.CocoDataset(str(small_dset)), backends=('npy', None), plans=('grid',),
                          window_dims=(32, 32), num=4, repeats=1)
    assert [r['backend'] for r in rows] == [MEMMAP_LIMIT, 'npy', 'none']
    assert all(r['windows_per_s'] > 0 for r in rows) and rows[0]['ratio'] == 1.0
    proc = run_cli('bench', small_dset, '--backends', 'cog', '--plans', 'random,positive', '--num', 3,
                   '--repeats', 1, '--window', 32)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split()[:2] == ['plan', 'backend']
    assert [line.split()[:2] for line in lines[2:]] == [['random', MEMMAP_LIMIT], ['random', 'cog'],
                                                       ['positive', MEMMAP_LIMIT], ['positive', 'cog']]


def test_plans_do_not_change_each_other(small_dset):
    """Each mode yields the same windows whatever was drawn before it, and the sampler is left as it was."""
    dset = kwcoco.CocoDataset(str(small_dset))
    alone = {mode: sample_targets(CocoSampler(dset), mode, 5, (24, 32), seed=2) for mode in SHOW_MODES}
    assert all(alone.values()) and all(t['aid'] == -1 for t in alone['negative'])
    assert all(t['aid'] != -1 for t in alone['positive'])
    for order in (('negative', 'positive', 'random', 'grid'), ('grid', 'random', 'positive', 'negative')):
        shared = CocoSampler(dset)
        pool, dims = shared.regions.pool, shared.regions.neg_window_dims
        for mode in order:
            assert sample_targets(shared, mode, 5, (24, 32), seed=2) == alone[mode], (order, mode)
        assert shared.regions.pool is pool and shared.regions.neg_window_dims == dims
        assert shared.regions.n_positives == dset.n_annots and shared.regions.n_negatives == 0


def test_bench_negative_then_positive_finds_positives(small_dset, run_cli):
    proc = run_cli('bench', small_dset, '--backends', 'npy', '--plans', 'negative,positive', '--num', 3,
                   '--repeats', 1, '--window', 32)
    assert proc.returncode == 0, proc.stderr
    rows = [line.split() for line in proc.stdout.splitlines()[2:]]
    assert [row[:2] for row in rows] == [['negative', MEMMAP_LIMIT], ['negative', 'npy'],
                                         ['positive', MEMMAP_LIMIT], ['positive', 'npy']]
    assert all(float(row[2]) > 0 for row in rows)


def test_demo_small_end_to_end(tmp_path, run_cli):
    out = tmp_path / 'demo'
    proc = run_cli('demo', '--out', out, '--small', '--steps', 2, '--workers', 0)
    assert proc.returncode == 0, proc.stderr
    for name in ('samples_images.png', 'samples_video.png', 'prediction.png', 'images.kwcoco.json',
                 'video/data.kwcoco.json'):
        assert (out / name).exists(), name
        assert str(out / name) in proc.stdout
    assert kwimage.imread(str(out / 'samples_images.png')).shape == (2 * 64 + 4, 2 * 64 + 4, 3)
    dset = kwcoco.CocoDataset(str(out / 'images.kwcoco.json'))
    asset = dset.imgs[1]['assets'][-1]
    assert asset['channels'] == 'background|circle|rectangle|triangle|star'
    assert (asset['width'], asset['height']) == (256, 256) and 'quantization' in asset
    assert is_cog(str(out / asset['file_name']))
    video = kwcoco.CocoDataset(str(out / 'video' / 'data.kwcoco.json'))
    assert video.n_videos == 1 and video.n_images == 3
    info = run_cli('info', out / 'images.kwcoco.json', '--workdir', out, '--backends', 'cog')
    assert info.returncode == 0, info.stderr
    # image 1 gained the prediction asset after prepare, so it has a frame still to cache
    assert 'cog      1       1' in info.stdout
