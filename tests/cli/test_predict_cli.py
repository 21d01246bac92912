"""``ndsampler predict`` in a subprocess: a TorchScript model over every image, assets written back to the dataset."""
import kwcoco
import numpy as np
import pytest

torch = pytest.importorskip('torch')

from ndsampler.cli import load_model  # noqa: E402
from ndsampler.errors import InvalidOptionError, SourceNotFoundError  # noqa: E402
from ndsampler.sampler import CocoSampler  # noqa: E402


class _Half(torch.nn.Module):
    def forward(self, x):
        return x[:, :2] * 0.5


def test_predict_cli_writes_assets_and_dataset(small_dset, run_cli, tmp_path):
    model_fpath = tmp_path / 'half.pt'
    torch.jit.save(torch.jit.script(_Half()), str(model_fpath))
    out = tmp_path / 'preds'
    proc = run_cli('predict', small_dset, '--model', model_fpath, '--window', '64', '--overlap', 0.25,
                   '--channels', 'red|green|blue', '--out', out, '--workers', 2, '--batch_size', 4,
                   '--out_channels', 'half.0:2')
    assert proc.returncode == 0, proc.stderr
    assert 'predict windows' in proc.stderr  # the progress bar
    dset = kwcoco.CocoDataset(str(small_dset))
    lines = proc.stdout.strip().splitlines()
    assert lines[-1].startswith(f'predicted {3 * 3 * 3} windows over 3 images') and 'heads pred (half.0:2)' in lines[-1]
    assert sum('half.0:2' in line and '160x128' in line for line in lines) == 3
    sampler = CocoSampler(dset, backend=None)
    for gid in dset.imgs:
        files = [a['file_name'] for a in dset.imgs[gid]['assets'] if a['channels'] == 'half.0:2']
        assert len(files) == 1 and (small_dset.parent / files[0]).resolve().parent == out.resolve()
        full = (slice(0, 128), slice(0, 160))
        got = sampler.load_sample({'gid': gid, 'space_slice': full, 'channels': 'half.0:2'}, with_annots=False)['im']
        src = sampler.load_sample({'gid': gid, 'space_slice': full, 'channels': 'red|green'}, with_annots=False)['im']
        np.testing.assert_allclose(got, src.astype(np.float32) * 0.5, rtol=1e-6)


def test_predict_cli_errors_are_one_line(small_dset, run_cli, tmp_path):
    proc = run_cli('predict', small_dset, '--model', tmp_path / 'missing.pt')
    assert proc.returncode == 1 and proc.stderr.strip() == \
        f"ndsampler predict: error: model file {str(tmp_path / 'missing.pt')!r} does not exist"
    model_fpath = tmp_path / 'm.pt'
    torch.jit.save(torch.jit.script(_Half()), str(model_fpath))
    proc = run_cli('predict', small_dset, '--model', model_fpath, '--blend', 'cosine')
    assert proc.returncode == 1
    assert proc.stderr.strip() == \
        "ndsampler predict: error: invalid blend='cosine'; allowed: 'gaussian', 'constant', 'edge'"


def test_load_model_rejects_files_that_are_no_model(tmp_path):
    with pytest.raises(SourceNotFoundError):
        load_model(tmp_path / 'nothing.pt')
    junk = tmp_path / 'junk.pt'
    junk.write_bytes(b'not a model')
    with pytest.raises(InvalidOptionError, match='TorchScript'):
        load_model(junk)
