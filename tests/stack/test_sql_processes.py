"""ImageStackSQL across processes: RAM budget, reload, SIGKILL after save_state, a concurrent reader."""
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import psutil
import pytest

from ndsampler.errors import SourceNotFoundError, StackError, UnknownIdError
from ndsampler.stack import ImageStackSQL

# Shared by this process and the child scripts: a deterministic image per index.
MAKE_IMAGE = textwrap.dedent('''
    import numpy as np
    def make_image(k):
        rng = np.random.default_rng(k)
        return rng.integers(0, 256, size=(8 + k % 5, 6 + k % 3, 1 + k % 3), dtype=np.uint8)
''')
namespace: dict = {}
exec(MAKE_IMAGE, namespace)
make_image = namespace['make_image']


def run_python(code: str, **kwargs) -> subprocess.CompletedProcess:
    script = MAKE_IMAGE + 'from ndsampler.stack import ImageStackSQL\n' + textwrap.dedent(code)
    return subprocess.run([sys.executable, '-c', script], capture_output=True, text=True, timeout=120, **kwargs)


def test_stack_five_times_its_budget_stays_within_it(tmp_path):
    budget_mb = 8
    image_shape = (512, 512)  # float32: 1 MiB per image
    stack = ImageStackSQL(tmp_path / 'big.sqlite', 'big', np.float32, max_size_mb=budget_mb)
    budget = budget_mb * 2 ** 20
    process = psutil.Process()
    stack.add_image(np.zeros(image_shape, np.float32))  # warm up sqlite and numpy paths
    stack.save_state()
    rss0 = process.memory_info().rss
    peak_rss = rss0
    n_images = 5 * budget_mb
    for k in range(1, n_images):
        stack.add_image(np.full(image_shape, k / n_images, np.float32))
        assert stack.nbytes <= budget
        peak_rss = max(peak_rss, process.memory_info().rss)
    order = np.random.default_rng(0).permutation(n_images)
    for k in order:
        assert stack[int(k)][0, 0] == np.float32(k / n_images)
        assert stack.nbytes <= budget
        peak_rss = max(peak_rss, process.memory_info().rss)
    # Holding everything grows RSS by 30+ MiB; spilling stays near the budget (measured ~10 MiB).
    assert peak_rss - rss0 < budget + 12 * 2 ** 20
    assert stack.nbytes <= budget and len(stack) == n_images


def test_reload_in_fresh_process_returns_identical_arrays(tmp_path):
    database = tmp_path / 'reload.sqlite'
    stack = ImageStackSQL(database, 'frames', np.uint8, max_size_mb=0.001)
    stack.extend(make_image(k) for k in range(12))
    stack.insert_image(3, make_image(100))
    del stack[7]
    stack[0] = make_image(200)
    expected = [np.array(im) for im in stack]
    stack.save_state()
    out = tmp_path / 'out.npz'
    proc = run_python(f'''
        stack = ImageStackSQL.load_from_database({str(database)!r}, 'frames', dtype='uint8')
        np.savez({str(out)!r}, *list(stack))
        print(len(stack))
    ''')
    assert proc.returncode == 0, proc.stderr
    with np.load(out) as got:
        arrays = [got[f'arr_{i}'] for i in range(len(got.files))]
    assert len(arrays) == len(expected)
    for a, b in zip(arrays, expected):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)


def test_sigkill_right_after_save_state_loses_nothing(tmp_path):
    database = tmp_path / 'killed.sqlite'
    proc = run_python(f'''
        import os, signal
        stack = ImageStackSQL({str(database)!r}, 'victim', np.uint8, max_size_mb=0.002)
        for k in range(30):
            stack.add_image(make_image(k))
        del stack[10:15]
        stack.insert_image(2, make_image(99))
        stack.save_state()
        os.kill(os.getpid(), signal.SIGKILL)
    ''')
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    expected = [make_image(k) for k in range(30)]
    del expected[10:15]
    expected.insert(2, make_image(99))
    stack = ImageStackSQL.load_from_database(database, 'victim')
    assert len(stack) == len(expected)
    for got, want in zip(stack, expected):
        np.testing.assert_array_equal(got, want)


def test_reader_process_sees_committed_images_while_writer_adds(tmp_path):
    database = tmp_path / 'shared.sqlite'
    writer = ImageStackSQL(database, 'live', np.uint8, max_size_mb=1)
    writer.save_state()
    reader = subprocess.Popen([sys.executable, '-c', MAKE_IMAGE + textwrap.dedent(f'''
        import sys
        from ndsampler.stack import ImageStackSQL
        stack = ImageStackSQL.load_from_database({str(database)!r}, 'live')
        for line in sys.stdin:
            stack.reload()
            ok = all(np.array_equal(stack[i], make_image(i)) for i in range(len(stack)))
            print(len(stack), ok, flush=True)
    ''')], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        seen = []
        k = 0
        for batch in range(4):
            for _ in range(5):
                writer.add_image(make_image(k))
                k += 1
            writer.save_state()
            writer.add_image(make_image(k))  # uncommitted: the reader must not see it yet
            k += 1
            reader.stdin.write('check\n')
            reader.stdin.flush()
            seen.append(reader.stdout.readline().split())
            writer.save_state()
        assert seen == [[str(n), 'True'] for n in (5, 11, 17, 23)]
    finally:
        reader.stdin.close()
        reader.wait(timeout=60)
    assert reader.returncode == 0


def test_load_errors_name_the_problem(tmp_path):
    database = tmp_path / 'errors.sqlite'
    stack = ImageStackSQL(database, 'known', np.float32)
    stack.add_image(np.zeros(2))
    stack.save_state()
    with pytest.raises(UnknownIdError, match="unknown stack_name='nope'.*'known'"):
        ImageStackSQL.load_from_database(database, 'nope')
    with pytest.raises(StackError, match="'known'.*has dtype float32, not the requested uint8"):
        ImageStackSQL.load_from_database(database, 'known', dtype=np.uint8)
    with pytest.raises(SourceNotFoundError, match='does not exist'):
        ImageStackSQL.load_from_database(tmp_path / 'absent.sqlite', 'known')


def test_stale_reader_is_told_to_reload(tmp_path):
    database = tmp_path / 'stale.sqlite'
    writer = ImageStackSQL(database, 's', np.uint8, max_size_mb=0)
    writer.extend(make_image(k) for k in range(3))
    writer.save_state()
    reader = ImageStackSQL.load_from_database(database, 's', max_size_mb=0)
    writer[1] = make_image(50)
    writer.save_state()
    with pytest.raises(StackError, match='call reload'):
        reader[1]
    reader.reload()
    np.testing.assert_array_equal(reader[1], make_image(50))
    assert os.path.isfile(database)
