"""Export a validation grid of sampler windows into an ImageStackSQL, reload it in a fresh process, read it through torch."""
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import torch

from ndsampler.sampler import CocoSampler
from ndsampler.stack import ImageStackSQL, export_samples
from ndsampler_torch._stack_dataset import StackDataset

WINDOW = 96


def validation_windows(tmp_path):
    """The first 16 windows of the sampler's validation grid over kwcoco 'shapes8', as sample dicts."""
    sampler = CocoSampler.demo('shapes8', workdir=tmp_path / 'work', dpath=tmp_path / 'demo')
    grid = sampler.new_sample_grid('image_detection', (WINDOW, WINDOW))
    return [sampler.load_sample(target, with_annots=False) for target in grid['targets'][:16]]


def test_exported_windows_read_back_through_dataloader(tmp_path):
    samples = validation_windows(tmp_path)
    database = tmp_path / 'validation.sqlite'
    stack = export_samples(samples, ImageStackSQL(database, 'val', np.uint8, max_size_mb=0.1))
    stack.save_state()
    assert stack.nbytes <= 0.1 * 2 ** 20 and len(stack) == len(samples)

    out = tmp_path / 'batches.pt'
    proc = subprocess.run([sys.executable, '-c', textwrap.dedent(f'''
        import torch
        from ndsampler.stack import ImageStackSQL
        from ndsampler_torch._stack_dataset import StackDataset
        stack = ImageStackSQL.load_from_database({str(database)!r}, 'val', dtype='uint8', max_size_mb=0.1)
        dataset = StackDataset(stack)
        results = {{}}
        for workers, context in [(0, None), (2, 'fork')]:
            loader = torch.utils.data.DataLoader(dataset, batch_size=5, num_workers=workers,
                                                 multiprocessing_context=context)
            results[f'{{workers}}-{{context}}'] = torch.cat(list(loader))
        torch.save(results, {str(out)!r})
    ''')], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr

    expected = torch.stack([torch.from_numpy(s['im']).permute(2, 0, 1).float() / 255 for s in samples])
    results = torch.load(out)
    assert sorted(results) == ['0-None', '2-fork']
    for batches in results.values():
        assert batches.dtype == torch.float32 and batches.shape == (len(samples), 3, WINDOW, WINDOW)
        torch.testing.assert_close(batches, expected, rtol=0, atol=1e-6)


def test_stack_dataset_pickles_without_pixels_and_applies_transform(tmp_path):
    stack = ImageStackSQL(tmp_path / 'd.sqlite', 'd', np.float32)
    stack.extend([np.full((4, 6), 0.5), np.zeros((2, 3, 5, 2))])
    dataset = StackDataset(stack, transform=torch.neg)
    blob = pickle.dumps(dataset)
    assert len(blob) < 2000  # row ids and the database path, not the images
    clone = pickle.loads(blob)
    assert clone[0].shape == (1, 4, 6) and float(clone[0].min()) == -0.5
    assert clone[1].shape == (2, 2, 3, 5)
