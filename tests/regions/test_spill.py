"""``shared_state``: large arrays become mapped files only while multiprocessing spawns a process."""
import multiprocessing.context
import pickle

import numpy as np

from ndsampler.regions import _spill


def _spawn_pickle(obj):
    multiprocessing.context.set_spawning_popen(object())
    try:
        return pickle.dumps(obj)
    finally:
        multiprocessing.context.set_spawning_popen(None)


class _Holder:
    def __init__(self, **arrays):
        self.__dict__.update(arrays)

    def __getstate__(self):
        return _spill.shared_state(self.__dict__)


def test_outside_spawning_state_is_unchanged():
    state = {'a': np.zeros(100_000)}
    assert _spill.shared_state(state) is state


def test_large_arrays_map_small_ones_inline():
    big = np.arange(100_000, dtype=np.int64)
    small = np.arange(10)
    holder = _Holder(big=big, table={'big': big[::-1].copy(), 'small': small}, small=small)
    data = _spawn_pickle(holder)
    assert len(data) < 10_000
    copy = pickle.loads(data)
    assert isinstance(copy.big.base, np.memmap) and type(copy.big) is np.ndarray and not copy.big.flags.writeable
    np.testing.assert_array_equal(copy.big, big)
    np.testing.assert_array_equal(copy.table['big'], big[::-1])
    assert not isinstance(copy.small.base, np.memmap) and copy.table['small'].tolist() == small.tolist()


def test_each_array_is_written_once():
    holder = _Holder(big=np.ones(50_000))
    assert _spawn_pickle(holder) == _spawn_pickle(holder)
    other = _Holder(big=np.ones(50_000))
    assert _spawn_pickle(other) != _spawn_pickle(holder)
