"""Measure how far this package is a drop-in for ndsampler 0.8.1 (issue #13).

The same cases run twice, in two throwaway virtual environments that share one
third-party set (``requirements/tests.txt`` under ``requirements/constraints.txt``,
plus kwcoco-dataloader's needs):
``venv-08`` holds ndsampler 0.8.1 from PyPI, ``venv-ours`` this checkout
(editable, the working tree as it is; ``--ours-ref HEAD`` measures a commit).
Everything else comes from PyPI:

* ``nd-doctest``: every docstring example of the ndsampler 0.8.1 sdist, parsed
  from the upstream files as text and run with an empty module namespace, so
  their own imports (``from ndsampler.coco_sampler import *``) resolve to the
  installed ``ndsampler``.
* ``nd-tests``: the sdist's ``tests/`` (pytest, run from a copy outside the
  sdist so ``ndsampler`` is the installed one).
* ``nd-example``: upstream's ``examples/torch_dataloader.py``; it is not on PyPI,
  so it runs only when ``--examples`` names a copy of it (or its folder).
* ``kd-doctest``: kwcoco-dataloader 0.1.2's docstring examples in the modules
  that use ndsampler (``--kd-all`` for every module).
* ``kd-tests``: kwcoco-dataloader's sdist ``tests/``.
* ``kd-loop``: a training-style loop of ``KWCocoVideoDataset`` over
  ``vidshapes8-multispectral`` (``channels='B1|B8'``, ``time_steps=3``, input
  scale native and 0.5, DataLoader with 0 and 2 workers, ``--batches`` batches):
  explicit targets (the client's grid order is random: windows centred on an
  annotation alternating with corner windows, one video after another); per
  configuration one ``build`` check, then per batch ``loads``, ``keys``,
  ``shapes`` and ``dtypes``; for ours also ``same-grid-as-0.8.1`` (the number
  of grid locations the client builds), per batch ``same-window-as-0.8.1`` (frames, window, annotation
  counts), ``same-keys-shapes-dtypes-as-0.8.1`` (the nested keys, shapes
  and dtypes of every item, values ignored) and ``same-pixels-as-0.8.1`` (each
  band's mean over the window to 4 significant digits; COMPAT.md's fixes may move it). Both
  venvs load copies of one generated demo (kwcoco's demo is not repeatable).
* ``install``: kwcoco-dataloader's undeclared ``pyqtree`` comes with ndsampler.

The driver prints one row per case (0.8.1 result, ours result) and the counts
both ways, and writes ``results.json`` and ``failures_ours.md`` (our failures
grouped by cause, first and last traceback lines) into the work folder.

Usage::

    python tools/compat_upstream.py [--workdir /tmp/compat] [--examples PATH]
        [--batches 3] [--reuse] [--suites nd-doctest,nd-tests,...]

``--reuse`` keeps existing venvs and downloads (only reinstalls ours). The
script itself is also the in-venv worker (``worker SUITE OUT``); it imports only
the standard library at top level.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ND_VERSION = '0.8.1'
KD_VERSION = '0.1.2'
# Pinned: this version resolves to a local CPU wheel; an unpinned torch pulls
# GBs of CUDA packages (see requirements/torch.txt).
TORCH_PIN = 'torch==2.13.0'
# What kwcoco-dataloader imports on the paths we run (its full declared list
# pulls GDAL-era geo stacks none of these cases touch).
CLIENT_DEPS = ['xdoctest', 'pytorch_lightning', 'einops', 'kwgis', 'kwplot',
               'matplotlib', 'seaborn', 'more_itertools', 'blake3']
SUITES = ['install', 'nd-doctest', 'nd-tests', 'nd-example', 'kd-doctest',
          'kd-tests', 'kd-loop']
# kwcoco-dataloader modules that use ndsampler (the kd-doctest default).
KD_ND_MODULES = [
    'tasks/fusion/datamodules/kwcoco_dataset.py',
    'tasks/fusion/datamodules/smart_mixins.py',
    'tasks/fusion/datamodules/spacetime_grid_builder.py',
    'tasks/fusion/datamodules/kwcoco_datamodule.py',
    'tasks/fusion/datamodules/data_augment.py',
    'tasks/fusion/datamodules/batch_visualization.py',
    'utils/kwcoco_extensions.py',
]
LOOP_SCALES = ['native', 0.5]
LOOP_WORKERS = [0, 2]
LOOP_BATCH_SIZE = 2
FILE_TIMEOUT = 900


# ----------------------------------------------------------------------------
# driver: downloads, venvs, running the workers
# ----------------------------------------------------------------------------

def _sh(cmd: list[str], log: Path, **kw) -> int:
    with open(log, 'a') as fh:
        fh.write('$ ' + ' '.join(map(str, cmd)) + '\n')
        fh.flush()
        return subprocess.call(list(map(str, cmd)), stdout=fh, stderr=fh, **kw)


def _pip(venv: Path, args: list[str], log: Path) -> None:
    cmd = [venv / 'bin' / 'python', '-m', 'pip', 'install', '-q', *args]
    if _sh(cmd, log) != 0:
        raise SystemExit(f'pip failed in {venv} (see {log}): {args}')


def download(work: Path, log: Path) -> dict[str, Path]:
    """Wheels and sdists of both packages from PyPI, sdists unpacked."""
    dl = work / 'dl'
    dl.mkdir(parents=True, exist_ok=True)
    specs = [f'ndsampler=={ND_VERSION}', f'kwcoco-dataloader=={KD_VERSION}']
    py = sys.executable
    if not list(dl.glob('ndsampler-*.whl')) or not list(dl.glob('kwcoco_dataloader-*.whl')):
        _sh([py, '-m', 'pip', 'download', '--no-deps', '-d', dl, *specs], log)
    sd = dl / 'sdist'
    if not list(sd.glob('*.tar.gz')) or len(list(sd.glob('*.tar.gz'))) < 2:
        _sh([py, '-m', 'pip', 'download', '--no-deps', '--no-binary', ':all:',
             '-d', sd, *specs], log)
    for tgz in sd.glob('*.tar.gz'):
        if not (sd / tgz.name[:-len('.tar.gz')]).exists():
            with tarfile.open(tgz) as tf:
                tf.extractall(sd, filter='data')
    paths = {
        'nd_whl': next(dl.glob(f'ndsampler-{ND_VERSION}-*.whl')),
        'kd_whl': next(dl.glob(f'kwcoco_dataloader-{KD_VERSION}-*.whl')),
        'nd_src': sd / f'ndsampler-{ND_VERSION}',
        'kd_src': sd / f'kwcoco_dataloader-{KD_VERSION}',
    }
    for key, path in paths.items():
        if not path.exists():
            raise SystemExit(f'download: {key} missing at {path} (see {log})')
    return paths


def ours_source(work: Path, ref: str | None, log: Path) -> Path:
    """The checkout itself (working tree), or a snapshot of commit ``ref`` under ``work``."""
    if ref is None:
        return REPO
    dst = work / 'ours-src'
    shutil.rmtree(dst, ignore_errors=True)
    dst.mkdir(parents=True)
    archive = subprocess.run(['git', '-C', str(REPO), 'archive', ref], capture_output=True, check=True)
    subprocess.run(['tar', '-x', '-C', str(dst)], input=archive.stdout, check=True)
    rev = subprocess.run(['git', '-C', str(REPO), 'rev-parse', '--short', ref],
                         capture_output=True, text=True, check=True).stdout.strip()
    with open(log, 'a') as fh:
        fh.write(f'ours: snapshot of {ref} ({rev}) in {dst}\n')
    return dst


def make_venv(work: Path, which: str, paths: dict[str, Path], reuse: bool,
              log: Path, ours_src: Path = REPO) -> tuple[Path, dict]:
    """Create (or reuse) ``venv-08`` / ``venv-ours``; return it and install cases."""
    venv = work / f'venv-{which}'
    # the third-party set the suite last passed on, for both venvs alike
    cons = work / 'constraints.txt'
    pinned = REPO / 'requirements' / 'constraints.txt'
    cons.write_text(pinned.read_text() if pinned.exists() else TORCH_PIN + '\n')
    fresh = not (reuse and (venv / 'bin' / 'python').exists())
    if fresh:
        shutil.rmtree(venv, ignore_errors=True)
        _sh([sys.executable, '-m', 'venv', venv], log)
        common = ['-c', cons, '-r', REPO / 'requirements' / 'tests.txt', *CLIENT_DEPS]
        if which == '08':
            _pip(venv, [*common, paths['nd_whl']], log)
        else:
            _pip(venv, common, log)
        _pip(venv, ['--no-deps', paths['kd_whl']], log)
    if which == 'ours':
        # with deps: whatever our package declares (beyond tests.txt) comes too
        _pip(venv, ['-c', cons, '-e', ours_src], log)
    py = venv / 'bin' / 'python'
    installed = subprocess.run([py, '-c', 'import pyqtree'], capture_output=True, text=True)
    case = 'install::pyqtree (imported by kwcoco-dataloader) comes with ndsampler'
    if installed.returncode == 0:
        install = {case: _result('pass')}
    else:
        install = {case: _result('fail', installed.stderr.splitlines(),
                                 exc_type='ModuleNotFoundError',
                                 exc_msg="No module named 'pyqtree'")}
    if installed.returncode != 0:
        _pip(venv, ['pyqtree'], log)  # measure everything else despite it
    return venv, install


def _result(status: str, tb_lines: list[str] | None = None, **extra) -> dict:
    res = {'status': status}
    if tb_lines:
        res['tb'] = _trim(tb_lines)
    res.update(extra)
    return res


def _trim(lines: list[str], head: int = 2, tail: int = 4) -> list[str]:
    lines = [ln.rstrip() for ln in lines if ln.strip()]
    if len(lines) <= head + tail:
        return lines
    return lines[:head] + ['...'] + lines[-tail:]


def run_worker(venv: Path, suite: str, run_dir: Path, args: dict,
               timeout: float, log: Path) -> dict:
    """Run one suite in ``venv``; results even if it times out or crashes."""
    run_dir.mkdir(parents=True, exist_ok=True)
    out = run_dir / f'{suite}.jsonl'
    out.unlink(missing_ok=True)
    env = dict(os.environ)
    # each venv its own caches: kwcoco demo data, ndsampler caches, ~/.cache
    env['XDG_CACHE_HOME'] = str(run_dir / 'cache')
    env['MPLBACKEND'] = 'Agg'
    env['PYTHONHASHSEED'] = '0'  # set orders repeat from run to run and venv to venv
    env.pop('PYTHONPATH', None)
    cmd = [venv / 'bin' / 'python', Path(__file__).resolve(), 'worker', suite,
           out, json.dumps(args)]
    t0 = time.monotonic()
    try:
        rc = _sh(cmd, log, cwd=run_dir, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        rc = 'timeout'
    return _read_results(out, rc, time.monotonic() - t0)


def _read_results(out: Path, rc, seconds: float) -> dict:
    planned: list[str] = []
    results: dict[str, dict] = {}
    if out.exists():
        for line in out.read_text().splitlines():
            rec = json.loads(line)
            if 'plan' in rec:
                planned.extend(c for c in rec['plan'] if c not in planned)
            else:
                results[rec['case']] = rec['result']
    why = 'timeout' if rc == 'timeout' else f'worker exited rc={rc}'
    for case in planned:
        results.setdefault(case, _result('error', [f'not run: {why}']))
    if not results and rc != 0:
        results['(suite)'] = _result('error', [f'no result: {why}'])
    print(f'    {len(results)} cases in {seconds:.0f}s', flush=True)
    return results


# ----------------------------------------------------------------------------
# worker: runs inside a venv; third-party imports happen here only
# ----------------------------------------------------------------------------

class _Emit:
    def __init__(self, path: str):
        self.fh = open(path, 'a')

    def plan(self, cases: list[str]) -> None:
        self._write({'plan': cases})

    def __call__(self, case: str, result: dict) -> None:
        self._write({'case': case, 'result': result})

    def _write(self, rec: dict) -> None:
        self.fh.write(json.dumps(rec, default=str) + '\n')
        self.fh.flush()


def _exc_result(exc: BaseException | None = None, status: str = 'fail') -> dict:
    import traceback
    if exc is None:
        exc = sys.exc_info()[1]
    lines = ''.join(traceback.format_exception(type(exc), exc, exc.__traceback__)).splitlines()
    return _result(status, lines, exc_type=type(exc).__name__,
                   exc_msg=str(exc).splitlines()[0][:300] if str(exc) else '')


def _upstream_namespace(path: str, modname: str) -> dict:
    """The globals an upstream doctest sees, with ``ndsampler`` the installed one.

    xdoctest runs a doctest in its module's namespace. Here the module text is
    upstream's but the package is whichever is installed, so the namespace is
    the upstream file's own top-level third-party imports (``ub``, ``np``,
    ``nx``...) plus everything the installed ``ndsampler`` module of that
    name holds; a module missing there adds nothing, and the doctest's own
    ``from ndsampler... import *`` then fails with ModuleNotFoundError.
    """
    import ast
    import importlib
    ns: dict = {'__name__': modname}
    tree = ast.parse(Path(path).read_text())
    for node in tree.body:
        if isinstance(node, ast.Import):
            own = any(a.name.split('.')[0] == 'ndsampler' for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            own = node.level > 0 or (node.module or '').split('.')[0] == 'ndsampler'
        else:
            continue
        if not own:
            try:
                exec(compile(ast.Module([node], []), path, 'exec'), ns)
            except ImportError:
                pass
    try:
        mod = importlib.import_module(modname)
    except ImportError as exc:
        ns['__compat_import_error__'] = f'{type(exc).__name__}: {exc}'
        return ns
    ns.update({k: v for k, v in vars(mod).items() if not k.startswith('__')})
    return ns


def _doctest_file(path: str, label: str, modname: str | None, emit: _Emit) -> None:
    """Run every doctest of one file in this process (one file per process).

    ``modname`` given: ``path`` is upstream's text, run against the installed
    package (see ``_upstream_namespace``); None: the installed module itself.
    """
    upstream_text = modname is not None
    import traceback
    import types
    import xdoctest.core
    try:
        examples = list(xdoctest.core.parse_doctestables(
            path, style='google', analysis='static'))
    except Exception:
        emit(f'{label}::(parse)', _exc_result())
        return
    names = [f'{label}::{ex.callname}:{ex.num}' for ex in examples]
    emit.plan(names)
    for name, ex in zip(names, examples):
        if upstream_text:
            ex.module = types.ModuleType(modname)
            ex.module.__dict__.update(_upstream_namespace(path, modname))
        ex.config['colored'] = False
        try:
            summary = ex.run(verbose=0, on_error='return')
        except BaseException as exc:  # pytest.skip, sys.exit, ...
            emit(name, _result('skip') if type(exc).__name__ == 'Skipped'
                 else _exc_result(exc, 'error'))
            continue
        if summary.get('skipped'):
            emit(name, _result('skip'))
        elif summary.get('passed'):
            emit(name, _result('pass'))
        else:
            info = ex.exc_info
            if info is not None:
                lines = ''.join(traceback.format_exception(*info)).splitlines()
                etype, evalue = info[0].__name__, str(info[1])
                if hasattr(info[1], 'output_difference'):  # got/want: the difference is the news
                    diff = info[1].output_difference(colored=False).splitlines()
                    lines = lines[:1] + [ln for ln in diff if ln.strip()][:12]
            else:
                lines, etype, evalue = ex.repr_failure(), 'DoctestFailure', ''
            missing = ex.module.__dict__.get('__compat_import_error__') if upstream_text else None
            if missing and etype == 'NameError':
                # the name lives in upstream's module, which the installed package lacks
                lines = [missing, *lines]
                etype, evalue = missing.split(': ', 1)
            emit(name, _result('fail', lines, exc_type=etype,
                               exc_msg=evalue.splitlines()[0][:300] if evalue else ''))


def _junit(xml_path: Path, label: str, emit: _Emit) -> None:
    tree = ET.parse(xml_path)
    for tc in tree.iter('testcase'):
        name = f"{label}::{tc.get('classname')}::{tc.get('name')}"
        bad = tc.find('failure')
        if bad is None:
            bad = tc.find('error')
        if tc.find('skipped') is not None:
            emit(name, _result('skip'))
        elif bad is not None:
            text = (bad.text or bad.get('message') or '').splitlines()
            msg = bad.get('message') or ''
            m = re.match(r'(\w+(?:\.\w+)*(?:Error|Exception|Exit|Interrupt|Warning))\b', msg)
            etype = m.group(1).split('.')[-1] if m else ('AssertionError' if 'assert' in msg else 'Error')
            # pytest's message is "ExcType: text"; keep the text
            emsg = msg.split(': ', 1)[1] if ': ' in msg and m else msg
            emit(name, _result('fail', text, exc_type=etype,
                               exc_msg=emsg.splitlines()[0][:300] if emsg else ''))
        else:
            emit(name, _result('pass'))


def _pytest_dir(src: Path, label: str, emit: _Emit, timeout: float) -> None:
    """Copy a tests/ folder here and run it, so the package under test is the installed one."""
    dst = Path.cwd() / f'{label}-tests'
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst)
    files = sorted(str(p) for p in dst.glob('test*.py'))
    xml = Path.cwd() / f'{label}-junit.xml'
    xml.unlink(missing_ok=True)
    cmd = [sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider',
           '-o', 'addopts=', '-o', 'python_files=test*.py', '--rootdir', str(dst),
           '--junitxml', str(xml), *files]
    try:
        proc = subprocess.run(cmd, cwd=dst, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        emit(f'{label}::(pytest)', _result('error', ['pytest timed out']))
        return
    if xml.exists():
        _junit(xml, label, emit)
    else:
        emit(f'{label}::(pytest)', _result('error', (proc.stdout + proc.stderr).splitlines()))


def _subrun(suite: str, out: str, args: dict) -> None:
    """One file per child process (isolation from crashes, hangs, leaked state)."""
    cmd = [sys.executable, __file__, 'worker', suite, out, json.dumps(args)]
    try:
        subprocess.run(cmd, timeout=args.get('timeout', FILE_TIMEOUT))
    except subprocess.TimeoutExpired:
        _Emit(out)(f"{args['label']}::(timeout)",
                   _result('error', [f"file timed out after {args.get('timeout', FILE_TIMEOUT)}s"]))


def _signature(obj, depth: int = 0):
    """Nested keys, shapes and dtypes of a batch item (values ignored)."""
    import numpy as np
    if depth > 8:
        return '...'
    if isinstance(obj, dict):
        return {str(k): _signature(v, depth + 1) for k, v in sorted(obj.items(), key=lambda kv: str(kv[0]))}
    if isinstance(obj, (list, tuple)):
        return [_signature(v, depth + 1) for v in obj]
    if isinstance(obj, np.generic):
        return 'number'
    if hasattr(obj, 'shape') and hasattr(obj, 'dtype'):
        return f'{type(obj).__name__}{tuple(obj.shape)}:{str(obj.dtype).replace("torch.", "")}'
    if obj is None or isinstance(obj, (bool, str)):
        return type(obj).__name__
    if isinstance(obj, (int, float, np.integer, np.floating)):
        return 'number'
    return type(obj).__name__


def _loop(args: dict, emit: _Emit) -> None:
    """The training-style loop over KWCocoVideoDataset."""
    import kwcoco
    cases = []
    nb = args['batches']
    configs = [(s, w) for s in LOOP_SCALES for w in LOOP_WORKERS]
    for s, w in configs:
        pre = f'kd-loop::scale={s},workers={w}'
        cases.append(f'{pre}::build')
        for b in range(nb):
            cases += [f'{pre}::batch{b}:{c}' for c in ('loads', 'keys', 'shapes', 'dtypes')]
    emit.plan(cases)
    # kwcoco's demo is not deterministic from run to run: both venvs load a
    # copy of one generated dataset (a copy, so neither sees the other's caches)
    shared = Path(args['loop_demo'])
    if not shared.exists():
        kwcoco.CocoDataset.demo('vidshapes8-multispectral', num_frames=5, dpath=str(shared))
    local = Path.cwd() / 'loop-demo'
    shutil.rmtree(local, ignore_errors=True)
    shutil.copytree(shared, local, ignore=shutil.ignore_patterns('_cache'))
    dset = kwcoco.CocoDataset(str(next(local.glob('*.kwcoco.json'))))
    sigs = {}
    for s, w in configs:
        pre = f'kd-loop::scale={s},workers={w}'
        try:
            from kwcoco_dataloader.tasks.fusion.datamodules.kwcoco_dataset import KWCocoVideoDataset
            from torch.utils.data import Subset
            ds = KWCocoVideoDataset(dset.copy(), mode='test', time_steps=3,
                                    window_dims=(128, 128), channels='B1|B8',
                                    input_space_scale=s, failed_sample_policy='raise',
                                    use_grid_cache=False)
            ds.disable_augmenter = True
            assert len(ds) > 0, f'empty sample grid: len={len(ds)}'
            targets = _loop_targets(dset, nb * LOOP_BATCH_SIZE)
            sigs[f'{pre}::grid'] = {'len': len(ds)}
            # Subset, as the client's worker_init_fn expects; its "indices" are target dicts
            loader = ds.make_loader(subset=Subset(ds, targets), batch_size=LOOP_BATCH_SIZE,
                                    num_workers=w, shuffle=False)
            it = iter(loader)
            emit(f'{pre}::build', _result('pass'))
        except Exception:
            emit(f'{pre}::build', _exc_result())
            for b in range(nb):
                for c in ('loads', 'keys', 'shapes', 'dtypes'):
                    emit(f'{pre}::batch{b}:{c}', _result('fail', ['build failed'], exc_type='BuildFailed'))
            continue
        for b in range(nb):
            bp = f'{pre}::batch{b}'
            try:
                batch = next(it)
                bad = [i for i, item in enumerate(batch) if item is None]
                assert not bad, f'items {bad} of batch {b} are None (failed samples)'
                emit(f'{bp}:loads', _result('pass'))
            except Exception:
                emit(f'{bp}:loads', _exc_result())
                for c in ('keys', 'shapes', 'dtypes'):
                    emit(f'{bp}:{c}', _result('fail', ['batch did not load'], exc_type='LoadFailed'))
                continue
            sigs[bp] = [_signature(item) for item in batch]
            sigs[f'{bp}:window'] = [_window(item) for item in batch]
            sigs[f'{bp}:pixels'] = [[{f'{m}[{c}]': f'{float(v):.4g}' for m, a in f['modes'].items()
                                      for c, v in zip(m.split('|'), a.float().mean(dim=(1, 2)))}
                                     for f in item['frames']] for item in batch]
            for c, check in (('keys', _check_keys), ('shapes', _check_shapes),
                             ('dtypes', _check_dtypes)):
                try:
                    for item in batch:
                        check(item, s)
                    emit(f'{bp}:{c}', _result('pass'))
                except Exception:
                    emit(f'{bp}:{c}', _exc_result())
    Path(args['sig_out']).write_text(json.dumps(sigs, indent=1))


def _loop_targets(dset, n: int) -> list[dict]:
    """Explicit targets, the same in both venvs (the client's own grid order is random).

    Target ``k``: video ``k % V``, three consecutive frames, a 128 px window in
    video space centred on the first frame's first annotation for even ``k``,
    at the video's top-left corner for odd ``k``.
    """
    import numpy as np
    vids = sorted(dset.videos())
    out = []
    for k in range(n):
        vid = vids[k % len(vids)]
        gids = sorted(dset.index.vidid_to_gids[vid], key=lambda g: dset.index.imgs[g].get('frame_index', 0))
        start = (k // len(vids)) % max(len(gids) - 2, 1)
        gids = [int(g) for g in gids[start:start + 3]]
        video = dset.index.videos[vid]
        x0 = y0 = 0
        aids = sorted(dset.index.gid_to_aids[gids[0]])
        if k % 2 == 0 and aids:
            x, y, w, h = dset.index.anns[aids[0]]['bbox']
            warp = dset.coco_image(gids[0]).warp_vid_from_img
            cx, cy, _ = np.asarray(warp.matrix) @ np.array([x + w / 2, y + h / 2, 1.0])
            x0 = int(min(max(cx - 64, 0), max(video['width'] - 128, 0)))
            y0 = int(min(max(cy - 64, 0), max(video['height'] - 128, 0)))
        out.append({'main_idx': k, 'video_id': vid, 'gids': gids, 'main_gid': gids[0],
                    'space_slice': (slice(y0, y0 + 128), slice(x0, x0 + 128)),
                    'resampled': 0, 'label': 'positive' if k % 2 == 0 else 'unknown',
                    'annot_info': None})
    return out


def _window(item: dict) -> dict:
    """Which frames and window an item covers (to tell a different window from a different result)."""
    tgt = item['target']
    return {'gids': [int(g) for g in tgt.get('gids', [])],
            'space_slice': str(tgt.get('space_slice')),
            'annots': [len(f.get('ann_aids', [])) for f in item['frames']]}


def _modes(item: dict):
    for frame in item['frames']:
        for mode, arr in frame['modes'].items():
            yield frame, mode, arr


def _check_keys(item: dict, scale) -> None:
    missing = {'frames', 'target', 'video_id'} - set(item)
    assert not missing, f'item lacks {sorted(missing)}'
    assert len(item['frames']) == 3, f"time_steps=3 but {len(item['frames'])} frames"
    for frame in item['frames']:
        fmiss = {'modes', 'gid', 'output_dims'} - set(frame)
        assert not fmiss, f'frame lacks {sorted(fmiss)}'
    got = {mode for _, mode, _ in _modes(item)}
    assert got, 'no modes in any frame'
    assert set(got) <= {'B1|B8', 'B1', 'B8'}, f'modes {sorted(got)} not from B1|B8'


def _check_shapes(item: dict, scale) -> None:
    for frame, mode, arr in _modes(item):
        shape = tuple(arr.shape)
        nchan = len(mode.split('|'))
        assert len(shape) == 3 and shape[0] == nchan, f'{mode}: shape {shape}, expected ({nchan}, H, W)'
        assert shape[1] > 0 and shape[2] > 0, f'{mode}: empty shape {shape}'
        if scale != 'native':
            want = tuple(int(round(d * scale)) for d in (128, 128))
            assert shape[1:] == want, f'{mode}: shape {shape} at scale {scale}, expected (C, {want})'


def _check_dtypes(item: dict, scale) -> None:
    for frame, mode, arr in _modes(item):
        assert 'float32' in str(arr.dtype), f'{mode}: dtype {arr.dtype}, expected float32'


def worker(suite: str, out: str, args: dict) -> None:
    emit = _Emit(out)
    if suite == 'nd-doctest':
        src = Path(args['nd_src']) / 'ndsampler'
        for path in sorted(src.rglob('*.py')):
            label = f"nd-doctest::{path.relative_to(src.parent)}"
            modname = '.'.join(path.relative_to(src.parent).with_suffix('').parts)
            modname = modname.removesuffix('.__init__')
            _subrun('doctest-file', out, {'path': str(path), 'label': label, 'modname': modname})
    elif suite == 'kd-doctest':
        import kwcoco_dataloader
        pkg = Path(kwcoco_dataloader.__file__).parent
        files = sorted(pkg.rglob('*.py')) if args.get('kd_all') else [pkg / m for m in KD_ND_MODULES]
        for path in files:
            label = f"kd-doctest::{path.relative_to(pkg.parent)}"
            _subrun('doctest-file', out, {'path': str(path), 'label': label, 'modname': None})
    elif suite == 'doctest-file':
        _doctest_file(args['path'], args['label'], args['modname'], emit)
    elif suite == 'nd-tests':
        _pytest_dir(Path(args['nd_src']) / 'tests', 'nd-tests', emit, FILE_TIMEOUT)
    elif suite == 'kd-tests':
        _pytest_dir(Path(args['kd_src']) / 'tests', 'kd-tests', emit, FILE_TIMEOUT)
    elif suite == 'nd-example':
        ex = Path(args['examples'])
        ex = ex / 'torch_dataloader.py' if ex.is_dir() else ex
        name = f'nd-example::{ex.name}'
        emit.plan([name])
        cmd = [sys.executable, str(ex), '--dpath', str(Path.cwd() / 'example'),
               '--num_images', '4', '--num_passes', '1']
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=FILE_TIMEOUT)
            lines = (proc.stdout + proc.stderr).splitlines()
            if proc.returncode == 0:
                emit(name, _result('pass'))
            else:
                last = [ln for ln in lines if ln.strip()][-1:] or ['']
                etype = last[0].split(':')[0] if ':' in last[0] else 'Error'
                emit(name, _result('fail', lines, exc_type=etype,
                                   exc_msg=last[0].split(': ', 1)[-1][:300]))
        except subprocess.TimeoutExpired:
            emit(name, _result('error', ['example timed out']))
    elif suite == 'kd-loop':
        _loop(args, emit)
    else:
        raise SystemExit(f'unknown suite {suite!r}; choose from {SUITES}')


# ----------------------------------------------------------------------------
# report
# ----------------------------------------------------------------------------

def _compare_signatures(work: Path, res08: dict, ours: dict) -> None:
    """Add the ``same-...-as-0.8.1`` checks from both venvs' batch records (0.8.1 is the reference)."""
    f08 = work / 'run-08' / 'kd-loop-signatures.json'
    fours = work / 'run-ours' / 'kd-loop-signatures.json'
    ref = json.loads(f08.read_text()) if f08.exists() else {}
    got = json.loads(fours.read_text()) if fours.exists() else {}
    for key, sig in ref.items():
        what = {'grid': 'grid', 'window': 'window', 'pixels': 'pixels'}.get(
            key.rsplit(':', 1)[-1], 'keys-shapes-dtypes')
        base = key.rsplit(':', 1)[0] if what != 'keys-shapes-dtypes' else key
        case = f'{base}:same-{what}-as-0.8.1'
        res08[case] = _result('pass')
        if key not in got:
            ours[case] = _result('fail', ['batch did not load in ours'], exc_type='LoadFailed')
        elif got[key] == sig:
            ours[case] = _result('pass')
        else:
            diff = _sig_diff(sig, got[key], 'item' if what == 'keys-shapes-dtypes' else what)
            msg = _pixel_summary(sig, got[key]) if what == 'pixels' else diff[0]
            ours[case] = _result('fail', diff[:6], exc_type='SignatureMismatch', exc_msg=msg)


def _pixel_summary(ref: list, got: list) -> str:
    """Which bands' means differ and by how much at most (relative to 0.8.1)."""
    worst: dict[str, float] = {}
    for item_ref, item_got in zip(ref, got):
        for frame_ref, frame_got in zip(item_ref, item_got):
            for band, value in frame_ref.items():
                a, b = float(value), float(frame_got.get(band, 'nan'))
                if a != b:
                    rel = abs(b - a) / max(abs(a), 1e-12)
                    worst[band] = max(worst.get(band, 0.0), rel)
    return 'band means differ: ' + ', '.join(
        f'{band} up to {rel:.1%}' for band, rel in sorted(worst.items()))


def _sig_diff(a, b, path: str) -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            if k not in b:
                out.append(f'{path}.{k}: missing in ours (0.8.1 {a[k]!r:.80})')
            elif k not in a:
                out.append(f'{path}.{k}: extra in ours ({b[k]!r:.80})')
            else:
                out += _sig_diff(a[k], b[k], f'{path}.{k}')
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f'{path}: length {len(b)} in ours, {len(a)} in 0.8.1']
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in _sig_diff(x, y, f'{path}[{i}]')]
    return [] if a == b else [f'{path}: ours {b!r:.80}, 0.8.1 {a!r:.80}']


def _cause(res: dict) -> str:
    etype, msg = res.get('exc_type', res['status']), res.get('exc_msg', '')
    if etype == 'ModuleNotFoundError':
        m = re.search(r"No module named '([^']+)'", msg)
        return f"missing module {m.group(1) if m else msg}"
    if etype == 'ImportError' and 'cannot import name' in msg:
        m = re.search(r"cannot import name '([^']+)' from '([^']+)'", msg)
        return f"missing name {m.group(2)}.{m.group(1)}" if m else f'missing name: {msg}'
    if etype == 'AttributeError':
        m = re.search(r"'([^']+)' (?:object|module) has no attribute '([^']+)'", msg)
        if m:
            return f'missing attribute {m.group(1)}.{m.group(2)}'
    if etype == 'SignatureMismatch':
        msg = re.sub(r' up to [0-9.]+%', '', re.sub(r'\[\d+\]', '[]', msg))
        return 'differs from 0.8.1: ' + msg[:110]
    if etype == 'KeyError':
        return f'KeyError {msg[:60]}'
    if etype == 'TypeError' and 'unexpected keyword' in msg:
        m = re.search(r"unexpected keyword argument '([^']+)'", msg)
        return f'unexpected keyword {m.group(1) if m else msg}'
    return f'{etype}: {re.sub(r"[0-9]+", "N", msg)[:70]}'


def _suite(case: str) -> str:
    return case.split('::')[0]


def report(work: Path, res08: dict, ours: dict) -> None:
    cases = list(dict.fromkeys([*res08, *ours]))
    suite_of = {c: _suite(c) for c in cases}
    width = min(max(len(c) for c in cases), 110)
    print(f"\n{'case':<{width}}  {'0.8.1':<6} ours")
    for c in cases:
        a = res08.get(c, {'status': '-'})['status']
        b = ours.get(c, {'status': '-'})['status']
        mark = '  <-- regression' if a == 'pass' and b != 'pass' else ''
        print(f'{c[:width]:<{width}}  {a:<6} {b}{mark}')
    print(f"\n{'suite':<12} {'cases':>5} {'0.8.1 pass':>10} {'ours pass':>9} "
          f"{'08 only':>8} {'ours only':>9}")
    tot = [0, 0, 0, 0, 0]
    for suite in dict.fromkeys(suite_of.values()):
        sc = [c for c in cases if suite_of[c] == suite]
        p08 = {c for c in sc if res08.get(c, {}).get('status') == 'pass'}
        pou = {c for c in sc if ours.get(c, {}).get('status') == 'pass'}
        row = [len(sc), len(p08), len(pou), len(p08 - pou), len(pou - p08)]
        tot = [t + r for t, r in zip(tot, row)]
        print(f'{suite:<12} {row[0]:>5} {row[1]:>10} {row[2]:>9} {row[3]:>8} {row[4]:>9}')
    print(f"{'total':<12} {tot[0]:>5} {tot[1]:>10} {tot[2]:>9} {tot[3]:>8} {tot[4]:>9}")
    print('(08 only: passes with ndsampler 0.8.1, not with ours; ours only: the reverse)')
    groups: dict[str, list[str]] = {}
    for c in cases:
        r = ours.get(c)
        if r and r['status'] in ('fail', 'error'):
            groups.setdefault(_cause(r), []).append(c)
    md = [f'# ours vs ndsampler {ND_VERSION}: failures of ours grouped by cause', '',
          f'{sum(map(len, groups.values()))} failing cases, {len(groups)} causes '
          f'(`python tools/compat_upstream.py`, {time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}).',
          '']
    for cause, cs in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        md.append(f'## {cause} ({len(cs)})')
        md.append('')
        for c in cs:
            tag = ' (passes with 0.8.1)' if res08.get(c, {}).get('status') == 'pass' else ''
            md.append(f'- `{c}`{tag}')
        md += ['', 'Example (`' + cs[0] + '`):', '', '```']
        md += ours[cs[0]].get('tb', []) + ['```', '']
    (work / 'failures_ours.md').write_text('\n'.join(md))
    (work / 'results.json').write_text(json.dumps({'0.8.1': res08, 'ours': ours}, indent=1))
    print(f'\nper-case results: {work / "results.json"}; our failures by cause: '
          f'{work / "failures_ours.md"}')
    print('top causes of our failures:')
    for cause, cs in sorted(groups.items(), key=lambda kv: -len(kv[1]))[:12]:
        print(f'  {len(cs):>4}  {cause}   e.g. {cs[0]}')


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ['worker']:
        worker(argv[1], argv[2], json.loads(argv[3]))
        return
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--workdir', type=Path, default=Path('/tmp/compat'))
    ap.add_argument('--examples', type=Path, default=None,
                    help="upstream's examples/ folder or examples/torch_dataloader.py")
    ap.add_argument('--batches', type=int, default=3)
    ap.add_argument('--reuse', action='store_true', help='keep existing venvs and downloads')
    ap.add_argument('--kd-all', action='store_true', help='kd-doctest over every kwcoco-dataloader module')
    ap.add_argument('--suites', default=','.join(SUITES))
    ap.add_argument('--report', action='store_true',
                    help='run nothing: rebuild the table and failures_ours.md from the work folder')
    ap.add_argument('--ours-ref', default=None,
                    help='measure this commit (e.g. HEAD) instead of the working tree as it is')
    ap.add_argument('--only', choices=['08', 'ours'], default=None,
                    help='run one side and reuse the other side from results.json')
    ns = ap.parse_args(argv)
    work = ns.workdir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    log = work / 'compat.log'
    suites = [s for s in ns.suites.split(',') if s]
    unknown = set(suites) - set(SUITES)
    if unknown:
        ap.error(f'unknown suites {sorted(unknown)}; choose from {SUITES}')
    if 'nd-example' in suites and ns.examples is None:
        suites.remove('nd-example')
        print('nd-example: skipped (give --examples PATH; examples/ is not on PyPI)')
    prev = json.loads((work / 'results.json').read_text()) if (work / 'results.json').exists() else {}
    results = {'08': {}, 'ours': {}}
    if ns.report:
        suites = []
    else:
        print(f'downloading ndsampler {ND_VERSION}, kwcoco-dataloader {KD_VERSION} (log: {log})', flush=True)
        paths = download(work, log)
    for which in ('08', 'ours') if suites else ():
        if ns.only and ns.only != which:
            key = '0.8.1' if which == '08' else 'ours'
            results[which] = prev.get(key, {})
            continue
        print(f'venv-{which}: installing', flush=True)
        src = ours_source(work, ns.ours_ref, log) if which == 'ours' else REPO
        venv, install = make_venv(work, which, paths, ns.reuse, log, src)
        run_dir = work / f'run-{which}'
        wargs = {'nd_src': str(paths['nd_src']), 'kd_src': str(paths['kd_src']),
                 'examples': str(ns.examples.resolve()) if ns.examples else None,
                 'kd_all': ns.kd_all, 'batches': ns.batches,
                 'sig_out': str(run_dir / 'kd-loop-signatures.json'),
                 'loop_demo': str(work / 'loop-demo')}
        if 'install' in suites:
            results[which].update(install)
        for suite in suites:
            if suite == 'install':
                continue
            print(f'  venv-{which}: {suite}', flush=True)
            results[which].update(run_worker(venv, suite, run_dir, wargs, 3 * FILE_TIMEOUT, log))
    carried = set()
    for which, key in (('08', '0.8.1'), ('ours', 'ours')):
        for case, res in prev.get(key, {}).items():
            if _suite(case) not in suites and case not in results[which]:
                results[which][case] = res
                carried.add(_suite(case))
    if carried:
        print(f'carried over from the previous results.json: {sorted(carried)}')
    if 'kd-loop' in suites or ns.report:
        for side in results.values():
            for k in [k for k in side if '-as-0.8.1' in k]:
                del side[k]
        _compare_signatures(work, results['08'], results['ours'])
    report(work, results['08'], results['ours'])


if __name__ == '__main__':
    main()
