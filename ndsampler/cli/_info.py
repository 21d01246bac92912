"""``ndsampler info``: what a dataset holds and how much of it is cached (thin over ``CocoFrames.status``)."""
from __future__ import annotations

import json
from collections import Counter
from typing import Any, Dict, Optional, Sequence

import kwcoco
import scriptconfig as scfg

from ndsampler._typing import PathLike
from ndsampler.cli._common import CommandConfig, format_table, load_dataset, parse_names
from ndsampler.cli._prepare import cache_report
from ndsampler.frames import STATE_ORDER, CocoFrames, SourceMismatch, format_mismatches

__all__ = ['InfoCLI', 'dataset_info', 'format_info']

#: Cache states that name their images in the report (something to fix).
_PROBLEM_STATES = ('stale', 'corrupt', 'no_source')


def dataset_info(dset: kwcoco.CocoDataset, workdir: Optional[PathLike] = None,
                 backends: Sequence[str] = ('cog', 'npy'), deep: bool = False) -> Dict[str, Any]:
    """Counts, categories, channels and per-backend cache coverage of a dataset.

    ``deep`` checks cache files thoroughly (see ``Frames.status``): slow, finds damage
    inside COG tiles that the default check (layout, size, first and last tiles) misses.

    Returns
    -------
    dict
        ``fpath``, ``n_images``, ``n_videos``, ``n_annotations``, ``categories``
        (name -> annotation count), ``channels`` (channel spec -> image count),
        ``cache`` (backend -> {``dpath``, ``counts`` per state, ``problems``: state ->
        image ids for stale / corrupt / no_source}), ``mismatches`` (image id -> one
        ``{fpath, what, dataset, found}`` per file whose band count or size disagrees
        with the dataset, see ``Frames.source_mismatches``).
    """
    cat_counts = Counter(dset.index.anns[aid]['category_id'] for aid in dset.index.anns)
    categories = {cat['name']: cat_counts.get(cid, 0) for cid, cat in dset.index.cats.items()}
    cache: Dict[str, Any] = {}
    for name in backends:
        frames = CocoFrames(dset, workdir=workdir, backend=name)
        report = cache_report(frames, deep=deep)
        cache[name] = {
            'dpath': frames.cache_dpath,
            'counts': {state: len(gids) for state, gids in report.items()},
            'problems': {state: report[state] for state in _PROBLEM_STATES if report[state]},
        }
    sources = CocoFrames(dset, workdir=workdir)
    channels = Counter(_channels_of(sources, gid) for gid in sources.image_ids)
    return {
        'fpath': dset.fpath,
        'n_images': dset.n_images,
        'n_videos': dset.n_videos,
        'n_annotations': dset.n_annots,
        'categories': categories,
        'channels': dict(channels),
        'cache': cache,
        'mismatches': {gid: [m.to_dict() for m in found] for gid, found in sources.source_mismatches().items()},
    }


def _channels_of(frames: CocoFrames, gid: Any) -> str:
    """An image's channel spec (unnamed bands are counted from the source header)."""
    try:
        return frames.image_channels(gid).spec
    except OSError:
        return '<unreadable>'


def format_info(info: Dict[str, Any]) -> str:
    """The human-readable report of :func:`dataset_info`."""
    lines = [
        f"dataset: {info['fpath']}",
        f"  images {info['n_images']}, videos {info['n_videos']}, annotations {info['n_annotations']}, "
        f"categories {len(info['categories'])}",
        'categories:',
        format_table(sorted(info['categories'].items()), header=('name', 'annotations')),
        'channels:',
        format_table(sorted(info['channels'].items()), header=('channels', 'images')),
        'cache coverage:',
    ]
    rows = [[name, *(entry['counts'][s] for s in STATE_ORDER), entry['dpath']] for name, entry in info['cache'].items()]
    lines.append(format_table(rows, header=('backend', *STATE_ORDER, 'location')))
    for name, entry in info['cache'].items():
        for state, gids in entry['problems'].items():
            lines.append(f'  {name}: {state} images: {", ".join(map(str, gids))}')
    lines += format_mismatches({gid: [SourceMismatch(gid, **m) for m in found]
                                for gid, found in info['mismatches'].items()})
    return '\n'.join(lines)


class InfoCLI(CommandConfig):
    """Show a dataset's images, videos, annotations, categories and channels, and its cache coverage per backend."""

    __command__ = 'info'
    dataset = scfg.Value(None, type=str, position=1, help='path of the kwcoco dataset file')
    workdir = scfg.Value(None, type=str, help='cache root to inspect; default: the dataset folder')
    backends = scfg.Value('cog,npy', type=str, help='comma-separated cache backends to report')
    json = scfg.Value(False, isflag=True, help='print the report as JSON')
    deep = scfg.Value(False, isflag=True, help='check cached frames thoroughly (every COG tile decoded; slow)')

    def execute(self) -> int:
        dset = load_dataset(self.dataset)
        names = [name.lower() for name in parse_names('backends', self.backends, ('cog', 'npy'))]
        info = dataset_info(dset, self.workdir, names, deep=self.deep)
        print(json.dumps(info, indent=2, default=str) if self.json else format_info(info))
        return 0
