"""Image stack throughput: ImageStackSQL (spilling to SQLite) against the in-RAM ImageStack reference.

``python -m benchmarks stack [--quick]`` prints the median time per image for appending and for random reads,
and each ratio to the in-RAM ImageStack measured in the same run.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from ndsampler.stack import ImageStack, ImageStackSQL

from ._timing import median_seconds


def main(argv: list[str]) -> None:
    quick = '--quick' in argv
    n_images, repeats = (40, 3) if quick else (200, 5)
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, size=(256, 256, 3), dtype=np.uint8) for _ in range(n_images)]
    order = rng.permutation(n_images)
    budget_mb = n_images * images[0].nbytes / 2 ** 20 / 5  # the stack is five times its RAM budget

    with tempfile.TemporaryDirectory() as tmp:
        counter = iter(range(10 ** 6))

        def make(kind):
            if kind == 'ram':
                return ImageStack(np.uint8)
            return ImageStackSQL(Path(tmp) / 'bench.sqlite', f's{next(counter)}', np.uint8, max_size_mb=budget_mb)

        def fill(kind):
            stack = make(kind)
            stack.extend(images)
            if kind == 'sql':
                stack.save_state()
            return stack

        rows = []
        for kind in ('ram', 'sql'):
            add = median_seconds(lambda: fill(kind), repeats) / n_images
            stack = fill(kind)
            read = median_seconds(lambda: [stack[int(i)] for i in order], repeats) / n_images
            rows.append((kind, add, read))

    ram_add, ram_read = rows[0][1], rows[0][2]
    print(f'{n_images} images of 256x256x3 uint8, ImageStackSQL budget {budget_mb:.1f} MiB (1/5 of the stack)')
    for kind, add, read in rows:
        print(f'{kind:>4}: add {add * 1e6:9.1f} us/image (x{add / ram_add:6.1f} vs ram)   '
              f'random read {read * 1e6:9.1f} us/image (x{read / ram_read:7.1f} vs ram)')
