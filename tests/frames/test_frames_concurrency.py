"""Many processes preparing the same frames at once; a prepare killed by SIGKILL, then resumed."""
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from frames_helpers import smooth_image, write_tif

from ndsampler.frames import SimpleFrames


def _prepare_in_child(paths, workdir, backend, barrier):
    barrier.wait()
    summary = SimpleFrames(paths, workdir=workdir, backend=backend).prepare(progress=False)
    sys.exit(0 if summary.ok else 3)


def _check_all(paths, workdir, backend, expected):
    frames = SimpleFrames(paths, workdir=workdir, backend=backend)
    corrupt = []
    for gid, data in expected.items():
        (fpath,) = frames.cache_fpaths(gid)
        if not frames.backend.validate(fpath) or not np.array_equal(np.asarray(frames.backend.read(fpath)), data):
            corrupt.append(fpath)
    leftovers = [n for _, _, names in os.walk(workdir) for n in names if '.tmp' in n]
    return corrupt, leftovers


@pytest.mark.parametrize('backend', ['cog', 'npy'])
def test_eight_processes_prepare_the_same_frames(tif_sources, tmp_path, backend):
    paths = {gid: str(p) for gid, (p, _) in tif_sources.items()}
    expected = {gid: data for gid, (_, data) in tif_sources.items()}
    ctx = multiprocessing.get_context('fork')
    for rep in range(3):
        workdir = tmp_path / f'work{rep}'
        barrier = ctx.Barrier(8)
        procs = [ctx.Process(target=_prepare_in_child, args=(paths, workdir, backend, barrier)) for _ in range(8)]
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join(60)
        assert [p.exitcode for p in procs] == [0] * 8
        corrupt, leftovers = _check_all(paths, workdir, backend, expected)
        assert corrupt == [] and leftovers == []


_KILL_SCRIPT = textwrap.dedent('''
    import json, sys
    from ndsampler.frames import SimpleFrames
    paths = json.loads(sys.argv[1])
    SimpleFrames(paths, workdir=sys.argv[2], backend=sys.argv[3]).prepare(workers=int(sys.argv[4]), progress=False)
''')


@pytest.mark.parametrize('backend, workers', [('cog', 0), ('npy', 2)])
def test_prepare_killed_then_resumed(tmp_path, backend, workers):
    import json
    expected = {}
    paths = {}
    for gid in range(8):
        data = smooth_image((700, 650, 3), gid)
        paths[str(gid)] = str(write_tif(tmp_path / f'big_{gid}.tif', data))
        expected[str(gid)] = data
    rng = np.random.default_rng(0)
    workdir = tmp_path / 'work'
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    for delay in rng.uniform(0.3, 1.5, size=3):
        proc = subprocess.Popen([sys.executable, '-c', _KILL_SCRIPT, json.dumps(paths), str(workdir), backend,
                                 str(workers)], env=env, start_new_session=True)
        time.sleep(delay)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    summary = SimpleFrames(paths, workdir=workdir, backend=backend).prepare(progress=False)
    assert summary.ok
    corrupt, leftovers = _check_all(paths, workdir, backend, expected)
    assert corrupt == [] and leftovers == []
