"""prepare() on a real dask.distributed LocalCluster (2 worker processes on loopback), a worker killed mid-task."""
import os
import signal
import sys
import time
from pathlib import Path

import cloudpickle
import numpy as np
import pytest

from ndsampler.cli._prepare import PrepareCLI
from ndsampler.errors import InvalidOptionError
from ndsampler.frames import CocoFrames, SimpleFrames, dask_executor

distributed = pytest.importorskip('distributed')

# The functions run on the workers travel by value: the workers need not import this test module.
cloudpickle.register_pickle_by_value(sys.modules[__name__])


@pytest.fixture(scope='module')
def client():
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, host='127.0.0.1',
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        client.wait_for_workers(2, timeout=60)
        yield client


def _frames(tif_sources, tmp_path, backend):
    return SimpleFrames({gid: p for gid, (p, _) in tif_sources.items()}, workdir=tmp_path / 'work', backend=backend)


def _leftovers(frames):
    return sorted(p.name for p in Path(frames.cache_dpath).rglob('*') if '.tmp' in p.name or '.broken.' in p.name)


def _assert_cached(frames, tif_sources):
    assert set(frames.status(deep=True).values()) == {'cached'}
    for gid, (_, data) in tif_sources.items():
        np.testing.assert_array_equal(frames.load_image(gid, cache=False), data)
    assert _leftovers(frames) == []


@pytest.mark.parametrize('backend', ['cog', 'npy'])
def test_prepare_on_a_dask_executor(client, tif_sources, tmp_path, backend):
    frames = _frames(tif_sources, tmp_path, backend)
    summary = frames.prepare(executor=client.get_executor(), progress=False)
    assert summary.ok and sorted(summary.converted) == sorted(tif_sources)
    _assert_cached(frames, tif_sources)
    assert sorted(frames.prepare(executor=client.get_executor(), progress=False).already_present) == \
        sorted(tif_sources)


def _gone(pid, within):
    """True once ``pid`` no longer exists (its parent, the nanny, has reaped it), waiting at most ``within`` s."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def _die_after_writing_the_first_frame(marker):
    """On this worker: the first conversion that gets ``marker`` writes its frame's temporary file, then SIGKILLs
    its own process before the frame is renamed into place (so a temporary file is left)."""
    import ndsampler.backends._base as base

    original = base.write_checksums

    def write_then_die(dst, checksums):
        try:
            fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return original(dst, checksums)
        left = [p for p in os.listdir(os.path.dirname(dst)) if '.tmp' in p]
        os.write(fd, f'{os.getpid()} {len(left)}'.encode())
        os.close(fd)
        os.kill(os.getpid(), signal.SIGKILL)

    base.write_checksums = write_then_die
    return os.getpid()


@pytest.mark.parametrize('backend', ['cog', 'npy'])
def test_worker_killed_mid_task_frame_is_rebuilt(client, tif_sources, tmp_path, backend):
    frames = _frames(tif_sources, tmp_path, backend)
    marker = tmp_path / 'killed'
    pids = set(client.run(_die_after_writing_the_first_frame, str(marker)).values())
    summary = frames.prepare(executor=client.get_executor(), progress=False)
    killed_pid, left = map(int, marker.read_text().split())
    assert killed_pid in pids and left >= 1, 'the worker did not die with a temporary frame written'
    assert _gone(killed_pid, within=30), 'the killed worker is still there'
    assert summary.ok, str(summary)
    assert sorted(summary.converted) == sorted(tif_sources)
    _assert_cached(frames, tif_sources)
    client.wait_for_workers(2, timeout=60)  # the nanny restarted the dead worker
    client.run(lambda: None)  # and it runs tasks


def test_cli_prepare_on_a_scheduler_and_on_local_dask_workers(client, shapes_dset, tmp_path, capsys):
    argv = [shapes_dset.fpath, '--workdir', str(tmp_path), '--backend', 'npy']
    assert PrepareCLI.main(argv=argv + ['--scheduler', client.scheduler.address]) == 0
    out = capsys.readouterr()
    assert f'converted        {shapes_dset.n_images}' in out.out
    assert 'prepare frames' in out.err  # the progress bar
    frames = CocoFrames(shapes_dset, workdir=tmp_path, backend='npy')
    assert set(frames.status(deep=True).values()) == {'cached'}
    for fpath in Path(frames.cache_dpath).rglob('*.npy'):
        fpath.unlink()
    start = time.monotonic()
    assert PrepareCLI.main(argv=argv + ['--dask-workers', '2']) == 0
    assert f'converted        {shapes_dset.n_images}' in capsys.readouterr().out
    assert time.monotonic() - start < 60
    assert set(frames.status(deep=True).values()) == {'cached'}


@pytest.mark.parametrize('kw, match', [
    (dict(), 'exactly one'),
    (dict(scheduler='tcp://127.0.0.1:1', workers=2), 'exactly one'),
    (dict(workers=0), 'dask workers=0'),
    (dict(workers=True), 'dask workers=True'),
])
def test_dask_executor_rejects_bad_options(kw, match):
    with pytest.raises(InvalidOptionError, match=match):
        with dask_executor(**kw):
            pass


def test_cli_rejects_workers_with_dask(shapes_dset, tmp_path, capsys):
    argv = [shapes_dset.fpath, '--workdir', str(tmp_path), '--workers', '2', '--dask-workers', '2']
    assert PrepareCLI.main(argv=argv) == 1
    assert 'invalid workers=2; allowed: 0 with --scheduler or --dask-workers' in capsys.readouterr().err
