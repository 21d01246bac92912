"""Shared fixtures: a small generated dataset and a subprocess runner for ``python -m ndsampler``."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ndsampler.demodata import demo_images

REPO = Path(__file__).resolve().parents[2]


def run_cli(*args, cwd=None):
    """Run ``python -m ndsampler ARGS`` in a fresh process; returns the CompletedProcess."""
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get('PYTHONPATH', ''))
    return subprocess.run([sys.executable, '-m', 'ndsampler', *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=300)


@pytest.fixture(name='run_cli')
def run_cli_fixture():
    """The :func:`run_cli` runner."""
    return run_cli


@pytest.fixture(scope='session')
def small_source(tmp_path_factory):
    """Three 160x128 images with a few shapes each (generated once; copy before changing)."""
    dpath = tmp_path_factory.mktemp('cli_source')
    demo_images(dpath, num_images=3, dsize=(160, 128), num_objects=4, radius_range=(8, 24), seed=1)
    return dpath


@pytest.fixture
def small_dset(small_source, tmp_path):
    """A private copy of :func:`small_source`: path of its kwcoco file."""
    dst = tmp_path / 'bundle'
    shutil.copytree(small_source, dst)
    return dst / 'images.kwcoco.json'
