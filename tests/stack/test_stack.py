"""ImageStack and ImageStackSQL against a plain Python list model, plus the list interface's edge cases."""
import gc
import os
import pickle
import uuid

import kwimage
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ndsampler.errors import InvalidOptionError, StackError
from ndsampler.stack import ImageStack, ImageStackSQL, convert_image_dtype, export_samples

TINY_BUDGET_MB = 200 / 2 ** 20  # a few 80-byte images: every few operations spill to SQLite


def make_image(seed: int) -> np.ndarray:
    """A small uint8 image whose shape and values depend on ``seed``."""
    h, w = 1 + seed % 4, 2 + seed % 3
    return ((np.arange(h * w).reshape(h, w) * 7 + seed * 13) % 256).astype(np.uint8)


def as_stack_image(image: np.ndarray) -> np.ndarray:
    return convert_image_dtype(image, np.float32)


def assert_same(stack, model):
    assert len(stack) == len(model)
    for got, want in zip(stack, model):
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, want)


seeds = st.integers(0, 500)
positions = st.integers(-6, 6)
slices = st.builds(slice, st.none() | positions, st.none() | positions, st.none() | st.sampled_from([1, 2, -1, -2]))
operations = st.one_of(
    st.tuples(st.just('add'), seeds),
    st.tuples(st.just('insert'), positions, seeds),
    st.tuples(st.just('remove'), positions),
    st.tuples(st.just('set'), positions, seeds),
    st.tuples(st.just('setslice'), slices, seeds),
    st.tuples(st.just('delitem'), positions),
    st.tuples(st.just('delslice'), slices),
    st.tuples(st.just('getslice'), slices),
    st.tuples(st.just('copy')),
    st.tuples(st.just('execute'), st.sampled_from([0.5, 2.0])),
    st.tuples(st.just('rolling'), st.booleans()),
    st.tuples(st.just('save')),
    st.tuples(st.just('reload')),
)


def in_range(index, n, allow_end=False):
    return -n <= index < (n + 1 if allow_end else n)


def rolling(prev, cur):
    return np.resize(prev, cur.shape) * 0.25 + cur * 0.5


def apply(stack, model, op, saved):
    """Apply ``op`` to both; return the (possibly new) model. Out-of-range ops must raise StackError."""
    name, args = op[0], op[1:]
    n = len(model)
    if name == 'add':
        stack.add_image(make_image(args[0]))
        return model + [as_stack_image(make_image(args[0]))]
    if name == 'insert':
        index, seed = args
        if not in_range(index, n, allow_end=True):
            with pytest.raises(StackError, match='out of range'):
                stack.insert_image(index, make_image(seed))
            return model
        stack.insert_image(index, make_image(seed))
        model = list(model)
        model.insert(index if index >= 0 else index + n, as_stack_image(make_image(seed)))
        return model
    if name in ('remove', 'delitem'):
        index = args[0]
        if not in_range(index, n):
            with pytest.raises(StackError, match='out of range'):
                stack.remove_image(index) if name == 'remove' else stack.__delitem__(index)
            return model
        stack.remove_image(index) if name == 'remove' else stack.__delitem__(index)
        model = list(model)
        del model[index]
        return model
    if name == 'set':
        index, seed = args
        if not in_range(index, n):
            with pytest.raises(StackError):
                stack[index] = make_image(seed)
            return model
        stack[index] = make_image(seed)
        model = list(model)
        model[index] = as_stack_image(make_image(seed))
        return model
    if name == 'setslice':
        key, seed = args
        count = len(range(*key.indices(n)))
        with pytest.raises(StackError, match='lengths must match'):
            stack[key] = [make_image(seed)] * (count + 1)
        images = [make_image(seed + k) for k in range(count)]
        stack[key] = images
        model = list(model)
        model[key] = [as_stack_image(im) for im in images]
        return model
    if name == 'delslice':
        del stack[args[0]]
        model = list(model)
        del model[args[0]]
        return model
    if name == 'getslice':
        part = stack[args[0]]
        assert type(part) is type(stack)
        assert_same(part, model[args[0]])
        return model
    if name == 'copy':
        dup = stack.copy()
        dup.add_image(make_image(1))
        if len(dup) > 1:
            dup[0] = make_image(2)
        assert_same(stack, model)
        assert_same(dup[:n], [as_stack_image(make_image(2))] + model[1:] if n else [])
        return model
    if name == 'execute':
        stack.execute_function(np.multiply, args[0])
        return [as_stack_image(im * args[0]) for im in model]
    if name == 'rolling':
        keep_first = args[0]
        stack.execute_rolling_function(rolling, keep_first)
        if not model:
            return model
        rolled = [as_stack_image(rolling(p, c)) for p, c in zip(model[:-1], model[1:])]
        return ([model[0]] if keep_first else []) + rolled
    if name == 'save':
        if isinstance(stack, ImageStackSQL):
            stack.save_state()
            saved[:] = model
        return model
    if name == 'reload':
        if isinstance(stack, ImageStackSQL):
            other = ImageStackSQL.load_from_database(stack.database, stack.stack_name)
            assert_same(other, saved)
            stack.reload()  # forgets uncommitted changes
            return list(saved)
        return model
    raise AssertionError(name)


@given(ops=st.lists(operations, max_size=25))
def test_image_stack_matches_list_model(ops):
    stack, model = ImageStack(np.float32), []
    for op in ops:
        model = apply(stack, model, op, [])
        assert_same(stack, model)
    assert stack.nbytes == sum(im.nbytes for im in model)


@settings(max_examples=40)
@given(ops=st.lists(operations, max_size=25))
def test_image_stack_sql_matches_list_model(tmp_path_factory, ops):
    database = tmp_path_factory.getbasetemp() / 'model.sqlite'
    stack = ImageStackSQL(database, f'model_{uuid.uuid4().hex}', np.float32, max_size_mb=TINY_BUDGET_MB)
    model, saved = [], []
    for op in ops:
        model = apply(stack, model, op, saved)
        assert_same(stack, model)
        assert stack.nbytes <= stack._max_bytes + 80
    stack.save_state()
    assert_same(ImageStackSQL.load_from_database(database, stack.stack_name, dtype=np.float32), model)


def test_repr_len_dtype_and_conversion_on_entry():
    stack = ImageStack(np.uint8)
    stack.add_image(np.array([[0.0, 1.0]]))
    stack.add_image(np.array([[True, False]]))
    assert repr(stack) == 'ImageStack(n=2, dtype=uint8)'
    np.testing.assert_array_equal(stack[0], [[0, 255]])
    np.testing.assert_array_equal(stack[-1], [[255, 0]])
    stack.change_dtype(np.float32)
    assert stack.dtype == np.float32 and stack[0].dtype == np.float32
    np.testing.assert_array_equal(stack[0], [[0.0, 1.0]])


def test_stack_owns_copies_of_its_images():
    image = np.zeros((2, 2), dtype=np.float32)
    stack = ImageStack()
    stack.add_image(image)
    image[:] = 1
    assert stack[0].sum() == 0
    dup = stack.copy()
    dup[0][:] = 5
    assert stack[0].sum() == 0


def test_rolling_function_pairs_original_neighbours():
    stack = ImageStack(np.float64)
    stack.extend(np.full((1,), v, dtype=np.float64) for v in [0.1, 0.2, 0.4])
    stack.execute_rolling_function(lambda prev, cur, k: (cur - prev) * k, True, 10)
    np.testing.assert_allclose([im[0] for im in stack], [0.1, 1.0, 2.0])


def test_bad_keys_and_lengths():
    stack = ImageStack()
    stack.extend([np.zeros(2)] * 3)
    with pytest.raises(StackError, match="index must be an int or a slice, got str 'a'"):
        stack['a']
    with pytest.raises(StackError, match='stack index 3 out of range for a stack of 3'):
        stack[3]
    with pytest.raises(StackError, match='cannot assign 1 image'):
        stack[0:2] = [np.zeros(2)]
    with pytest.raises(InvalidOptionError):
        ImageStack(dtype=complex)


def test_sql_constructor_validation(tmp_path):
    database = tmp_path / 'v.sqlite'
    ImageStackSQL(database, 'taken')
    with pytest.raises(StackError, match="stack 'taken' already exists"):
        ImageStackSQL(database, 'taken')
    with pytest.raises(InvalidOptionError, match='max_size_mb'):
        ImageStackSQL(database, 'a', max_size_mb=-1)
    with pytest.raises(InvalidOptionError, match='cache_limit'):
        ImageStackSQL(database, 'b', cache_limit=0)
    with pytest.raises(StackError, match='cannot open stack database'):
        ImageStackSQL(tmp_path / 'missing-folder' / 'x.sqlite')


def test_from_paths(tmp_path):
    paths = []
    for k in range(3):
        paths.append(tmp_path / f'im{k}.png')
        kwimage.imwrite(paths[-1], np.full((4, 5, 3), 40 * k, dtype=np.uint8))
    stack = ImageStack.from_paths(paths)
    assert stack.dtype == np.uint8 and len(stack) == 3
    np.testing.assert_array_equal(stack[2], np.full((4, 5, 3), 80, dtype=np.uint8))
    sql = ImageStackSQL.from_paths(paths, dtype=np.float32, database=tmp_path / 'p.sqlite', stack_name='pngs',
                                   max_size_mb=0)
    assert sql.dtype == np.float32 and sql.nbytes <= sql[1].nbytes
    np.testing.assert_allclose(sql[1], 40 / 255, rtol=1e-6)
    assert len(ImageStack.from_paths([])) == 0


def test_sql_arrays_are_read_only_and_pickling_commits(tmp_path):
    stack = ImageStackSQL(tmp_path / 'pk.sqlite', 'pk', np.uint8)
    stack.extend(make_image(k) for k in range(5))
    with pytest.raises(ValueError, match='read-only'):
        stack[0][...] = 0
    clone = pickle.loads(pickle.dumps(stack))
    assert clone._conn is None and clone.nbytes == 0
    assert all(np.array_equal(a, b) for a, b in zip(clone, stack))
    assert len(ImageStackSQL.load_from_database(stack.database, 'pk')) == 5


def test_temporary_database_removed_on_collection():
    stack = ImageStackSQL()
    stack.add_image(np.zeros(3))
    stack.save_state()
    path = stack.database
    assert os.path.isfile(path)
    del stack
    gc.collect()
    assert not os.path.exists(path)


def test_memory_percent_limit_spills_everything(tmp_path):
    stack = ImageStackSQL(tmp_path / 'm.sqlite', 'm', np.uint8, cache_limit=1e-6)
    stack.extend(make_image(k) for k in range(6))
    assert stack.nbytes == stack[5].nbytes  # only the last touched image stays decoded
    stack.reload()
    assert len(stack) == 6


def test_export_samples_appends_images_of_samples_and_arrays(tmp_path):
    stack = ImageStackSQL(tmp_path / 'e.sqlite', 'e', np.uint8)
    out = export_samples([{'im': make_image(0), 'target': {}}, make_image(1)], stack)
    assert out is stack and len(stack) == 2
    np.testing.assert_array_equal(stack[1], make_image(1))


def test_sql_change_dtype_while_spilling_survives_reload(tmp_path):
    stack = ImageStackSQL(tmp_path / 'c.sqlite', 'c', np.uint8, max_size_mb=TINY_BUDGET_MB)
    stack.extend(make_image(k) for k in range(10))
    stack.save_state()
    stack.change_dtype(np.float32)
    assert all(im.dtype == np.float32 for im in stack)
    stack.save_state()
    again = ImageStackSQL.load_from_database(stack.database, 'c', dtype=np.float32)
    assert_same(again, [as_stack_image(make_image(k)) for k in range(10)])
