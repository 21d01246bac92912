"""Two real ranks on gloo over loopback: disjoint shards that together cover every plan index."""
import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from ndsampler_torch import DistributedPlanSampler, SamplerDataset, SyntheticSampler, collate

N_ITEMS = 23  # odd on purpose: padding repeats an index once without drop_last
WORLD = 2


def _free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _rank_main(rank, port, out_dir):
    os.environ['MASTER_ADDR'] = '127.0.0.1'
    os.environ['MASTER_PORT'] = str(port)
    dist.init_process_group('gloo', rank=rank, world_size=WORLD)
    try:
        sampler = SyntheticSampler.demo(n_images=4, n_annots=12, seed=0)
        ds = SamplerDataset(sampler, 'random', window_dims=(16, 16), seed=3, plan_kw={'length': N_ITEMS})
        result = {}
        for drop_last in (False, True):
            shard = DistributedPlanSampler(ds, shuffle=True, seed=7, drop_last=drop_last)
            loader = torch.utils.data.DataLoader(ds, batch_size=3, sampler=shard, collate_fn=collate)
            for epoch in range(2):
                shard.set_epoch(epoch)
                seen = [(i, g, tuple(tf[:2, 2].tolist())) for b in loader
                        for i, g, tf in zip(b['index'].tolist(), b['gid'].tolist(), b['tf_rel_to_abs'])]
                gathered = [None] * WORLD
                dist.all_gather_object(gathered, seen)
                result[drop_last, epoch] = gathered
        if rank == 0:
            torch.save(result, os.path.join(out_dir, 'seen.pt'))
    finally:
        dist.destroy_process_group()


@pytest.fixture(scope='module')
def gathered_indexes(tmp_path_factory):
    out_dir = tmp_path_factory.mktemp('dist')
    mp.spawn(_rank_main, args=(_free_port(), str(out_dir)), nprocs=WORLD, join=True)
    return torch.load(out_dir / 'seen.pt')


@pytest.mark.slow
@pytest.mark.parametrize('drop_last', [False, True])
def test_ranks_get_disjoint_shards_covering_every_index(gathered_indexes, drop_last):
    per_rank = N_ITEMS // WORLD if drop_last else -(-N_ITEMS // WORLD)
    orders = []
    for epoch in range(2):
        gathered = gathered_indexes[drop_last, epoch]
        shards = [[i for i, _, _ in seen] for seen in gathered]
        assert [len(s) for s in shards] == [per_rank] * WORLD
        everything = shards[0] + shards[1]
        if drop_last:
            assert len(set(everything)) == len(everything) == N_ITEMS - 1
            assert not set(shards[0]) & set(shards[1])
        else:
            assert set(everything) == set(range(N_ITEMS))
            # DistributedSampler padding: the shards share only the padded repeat (one index here)
            n_pad = WORLD * per_rank - N_ITEMS
            assert len(everything) - len(set(everything)) == n_pad == 1
            assert len(set(shards[0]) & set(shards[1])) == n_pad
        # every rank draws the same window for the same (seed, epoch, index)
        windows = {}
        for seen in gathered:
            for i, gid, offset in seen:
                assert windows.setdefault(i, (gid, offset)) == (gid, offset)
        orders.append((everything, windows))
    assert orders[0][0] != orders[1][0]  # reshuffled
    assert orders[0][1] != orders[1][1]  # random windows redrawn for the new epoch
