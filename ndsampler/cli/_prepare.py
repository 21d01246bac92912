"""``ndsampler prepare``: fill the frame cache of a dataset (thin over ``CocoFrames.prepare``)."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

import scriptconfig as scfg

from ndsampler.cli._common import CommandConfig, format_table, load_dataset, parse_backend, parse_ids
from ndsampler.errors import InvalidOptionError
from ndsampler.frames import STATE_ORDER, CocoFrames, check_workers, dask_executor, format_mismatches

__all__ = ['PrepareCLI', 'cache_report']


def cache_report(frames: CocoFrames, image_ids: Optional[Sequence[Any]] = None,
                 deep: bool = False) -> Dict[str, List[Any]]:
    """Image ids per cache state (see :data:`ndsampler.frames.STATE_ORDER`) without converting anything.

    ``cached`` images would be left alone, ``missing`` / ``stale`` / ``corrupt`` ones converted,
    ``no_source`` ones would fail. ``deep`` checks cache files thoroughly (see ``Frames.status``).
    """
    status = frames.status(image_ids, deep=deep)
    report: Dict[str, List[Any]] = {state: [] for state in STATE_ORDER}
    for gid, state in status.items():
        report[state].append(gid)
    return report


class PrepareCLI(CommandConfig):
    """Convert every image of a kwcoco dataset into the frame cache (resumable, parallel).

    Converts in this process, on ``--workers`` processes, or on a dask.distributed cluster
    (``--scheduler ADDRESS``, or ``--dask-workers N`` for a local one). Prints a progress bar
    and a summary table (converted, already present, failed, mismatched,
    bytes, seconds) and every file whose band count or size disagrees with the dataset;
    exits non-zero when any image failed or mismatched. Running it again converts only what is
    missing, stale or corrupt.
    """

    __command__ = 'prepare'
    dataset = scfg.Value(None, type=str, position=1, help='path of the kwcoco dataset file')
    workdir = scfg.Value(None, type=str, help='cache root (the cache goes in <workdir>/_cache/frames); default: the dataset folder')
    backend = scfg.Value('cog', type=str, help='cache format: cog | npy')
    workers = scfg.Value(0, type=int, help='worker processes, >= 0 (0: convert in this process)')
    scheduler = scfg.Value(None, type=str, help='convert on the dask.distributed cluster of this scheduler address '
                                                '(tcp://host:8786; needs ndsampler[dask]; every worker must see the '
                                                'sources and the cache at the same paths)')
    dask_workers = scfg.Value(None, type=int, help='convert on a dask LocalCluster of this many worker processes '
                                                   '(needs ndsampler[dask])')
    dry_run = scfg.Value(False, isflag=True, help='only report what would be converted and which files disagree '
                                                  'with the dataset')
    deep = scfg.Value(False, isflag=True, help='check cached frames thoroughly (every COG tile decoded; slow) '
                                               'and rebuild damaged ones')
    image_ids = scfg.Value(None, type=str, nargs='+', help='prepare only these image ids (space or comma separated)')

    def execute(self) -> int:
        workers = check_workers(self.workers)
        dset = load_dataset(self.dataset)
        frames = CocoFrames(dset, workdir=self.workdir, backend=parse_backend(self.backend, ('cog', 'npy')))
        ids = parse_ids(self.image_ids, frames.image_ids)
        if self.dry_run:
            report = cache_report(frames, ids, deep=self.deep)
            verbs = {'cached': 'already present', 'missing': 'to convert (missing)', 'stale': 'to convert (stale)',
                     'corrupt': 'to convert (corrupt)', 'no_source': 'would fail (no source)'}
            print(f'prepare frames (backend={frames.backend.name}, dry run) in {frames.cache_dpath}')
            print(format_table([(verbs[state], len(gids)) for state, gids in report.items()]))
            for gid in report['no_source']:
                print(f'  image {gid!r}: source file missing')
            mismatched = frames.source_mismatches(ids)
            for line in format_mismatches(mismatched):
                print(line)
            return 1 if report['no_source'] or mismatched else 0
        if self.scheduler is None and self.dask_workers is None:
            summary = frames.prepare(ids, workers=workers, deep=self.deep)
        else:
            if workers:
                raise InvalidOptionError('workers', workers, '0 with --scheduler or --dask-workers')
            with dask_executor(self.scheduler, self.dask_workers) as executor:
                summary = frames.prepare(ids, executor=executor, deep=self.deep)
        print(summary)
        print(f'cache: {frames.cache_dpath}')
        return 0 if summary.ok else 1

