"""Two "nodes" on loopback: ``torchrun --nnodes 2 --nproc-per-node 1`` twice (node ranks 0 and 1, gloo).

Both nodes prepare the same frame cache (one path) at once, then train over
``SamplerDataset`` + ``DistributedPlanSampler``: every index once per epoch across the
ranks, a new order each epoch, and a cache that both nodes find complete and intact.
This file is also the script torchrun runs on each node (``__main__`` below).
"""
import datetime
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
N_ITEMS = 17  # odd: without drop_last one index is repeated to pad the shards
EPOCHS = 3
LIMIT_S = 240  # each node's whole run


def _node_main(data_fpath, workdir, out_dpath):
    import kwcoco
    import torch
    import torch.distributed as dist

    from ndsampler import CocoSampler
    from ndsampler_torch import DistributedPlanSampler, SamplerDataset, collate

    dist.init_process_group('gloo', timeout=datetime.timedelta(seconds=60))
    rank, world = dist.get_rank(), dist.get_world_size()
    try:
        sampler = CocoSampler(kwcoco.CocoDataset(data_fpath), workdir=workdir, backend='cog')
        node = int(os.environ['GROUP_RANK'])
        ids = sampler.frames.image_ids
        dist.barrier()  # both nodes prepare the shared cache at the same time, from opposite ends
        summary = sampler.frames.prepare(ids if node == 0 else ids[::-1], progress=False)
        dist.barrier()
        report = {'node': node, 'ok': summary.ok, 'converted': sorted(summary.converted),
                  'present': sorted(summary.already_present),
                  'status': sorted(set(sampler.frames.status(deep=True).values())),
                  'epochs': []}
        ds = SamplerDataset(sampler, 'random', window_dims=(32, 32), seed=3, plan_kw={'length': N_ITEMS})
        shard = DistributedPlanSampler(ds, shuffle=True, seed=7)
        loader = torch.utils.data.DataLoader(ds, batch_size=4, sampler=shard, collate_fn=collate)
        for epoch in range(EPOCHS):
            shard.set_epoch(epoch)
            report['epochs'].append([(i, float(im.sum())) for b in loader for i, im in zip(b['index'].tolist(), b['im'])])
        gathered = [None] * world
        dist.all_gather_object(gathered, report)
        if rank == 0:
            Path(out_dpath, 'report.json').write_text(json.dumps(gathered))
    finally:
        dist.destroy_process_group()


def _free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@pytest.fixture(scope='module')
def report(tmp_path_factory):
    from ndsampler.demodata import demo_images

    root = tmp_path_factory.mktemp('multinode')
    dset = demo_images(root / 'data', num_images=5, dsize=(192, 160), num_objects=5, radius_range=(8, 24), seed=2)
    port = _free_port()
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get('PYTHONPATH', ''), OMP_NUM_THREADS='1')
    nodes = []
    try:
        for node_rank in (0, 1):
            # torchrun's entry point; one launcher per "node", each in its own process group
            cmd = [sys.executable, '-m', 'torch.distributed.run', '--nnodes', '2', '--nproc-per-node', '1',
                   '--node-rank', str(node_rank), '--master-addr', '127.0.0.1', '--master-port', str(port),
                   '--max-restarts', '0', __file__, dset.fpath, str(root / 'work'), str(root)]
            log = open(root / f'node{node_rank}.log', 'w')
            nodes.append(subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        codes = [node.wait(timeout=LIMIT_S) for node in nodes]
    finally:
        for node in nodes:
            if node.poll() is None:
                os.killpg(node.pid, signal.SIGKILL)
                node.wait(timeout=30)
    logs = '\n'.join((root / f'node{r}.log').read_text()[-3000:] for r in (0, 1))
    assert codes == [0, 0], logs
    return root, dset, json.loads((root / 'report.json').read_text())


@pytest.mark.slow
def test_every_index_once_per_epoch_across_nodes_in_a_new_order(report):
    _, _, gathered = report
    assert sorted(r['node'] for r in gathered) == [0, 1]
    orders = []
    for epoch in range(EPOCHS):
        shards = [[i for i, _ in r['epochs'][epoch]] for r in gathered]
        assert [len(s) for s in shards] == [-(-N_ITEMS // 2)] * 2
        everything = shards[0] + shards[1]
        assert set(everything) == set(range(N_ITEMS))
        assert len(everything) - len(set(everything)) == 1  # DistributedSampler's padding
        # the padded repeat is the same window on both nodes (plans depend on (seed, epoch, index) only)
        pixels = {}
        for r in gathered:
            for i, total in r['epochs'][epoch]:
                assert pixels.setdefault(i, total) == total
        orders.append(everything)
    assert len({tuple(o) for o in orders}) == EPOCHS


@pytest.mark.slow
def test_both_nodes_prepare_one_cache_consistently(report):
    root, dset, gathered = report
    gids = sorted(dset.imgs)
    assert all(r['ok'] and r['status'] == ['cached'] for r in gathered)
    converted = [set(r['converted']) for r in gathered]
    assert not converted[0] & converted[1], 'an image converted by both nodes: the lock did not exclude'
    assert sorted(converted[0] | converted[1]) == gids
    for r in gathered:
        assert sorted(set(r['converted']) | set(r['present'])) == gids
    left = [p.name for p in (root / 'work').rglob('*') if '.tmp' in p.name or p.name.endswith('.lease')]
    assert left == []


if __name__ == '__main__':
    _node_main(*sys.argv[1:])
