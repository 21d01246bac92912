"""FileLock's lease: exclusion where ``flock`` is only local (simulated by disabling it), stale leases broken."""
import multiprocessing
import os
import threading
import time

import pytest

from ndsampler import errors
from ndsampler.io import FileLock
from ndsampler.io import atomic


@pytest.fixture
def no_flock(monkeypatch):
    """Every process (forked children too) gets ``flock`` at once, as on a mount where it is only local."""
    monkeypatch.setattr(atomic, '_try_flock', lambda fd: True)


def _hold(target, flag, seconds, stale_after):
    with FileLock(target, stale_after=stale_after):
        open(flag, 'w').close()
        time.sleep(seconds)


def _start_holder(tmp_path, seconds, stale_after=600.0):
    flag = tmp_path / 'held'
    proc = multiprocessing.get_context('fork').Process(
        target=_hold, args=(tmp_path / 'x.npy', flag, seconds, stale_after))
    proc.start()
    deadline = time.monotonic() + 20
    while not flag.exists():
        assert proc.is_alive() and time.monotonic() < deadline, 'the holder did not take the lock'
        time.sleep(0.01)
    return proc


def test_lease_excludes_without_flock_and_heartbeat_keeps_it(tmp_path, no_flock):
    # the waiter gives up after twice stale_after: only the holder's heartbeat kept the lease fresh that long
    proc = _start_holder(tmp_path, seconds=3.0, stale_after=1.0)
    try:
        with pytest.raises(errors.CacheError, match='timed out'):
            FileLock(tmp_path / 'x.npy', timeout=2.0, stale_after=1.0).acquire()
    finally:
        proc.join(timeout=10)
    assert proc.exitcode == 0
    assert not FileLock(tmp_path / 'x.npy').lease_fpath.exists()
    with FileLock(tmp_path / 'x.npy', timeout=1.0):
        pass


def test_lease_of_a_killed_holder_on_this_host_is_broken_at_once(tmp_path, no_flock):
    proc = _start_holder(tmp_path, seconds=60)
    os.kill(proc.pid, 9)
    proc.join(timeout=10)
    lock = FileLock(tmp_path / 'x.npy', timeout=2.0)
    assert lock.lease_fpath.exists(), 'SIGKILL left the lease behind'
    start = time.monotonic()
    with lock:
        assert time.monotonic() - start < 1.0
        assert atomic._read_lease(lock.lease_fpath).split(' ')[1] == str(os.getpid())
    assert sorted(p.name for p in tmp_path.iterdir()) == ['held', 'x.npy.lock']


def _foreign_lease(lock):
    lock.lease_fpath.parent.mkdir(parents=True, exist_ok=True)
    lock.lease_fpath.write_text('other-host/boot 4242 0123abcd')


def test_lease_of_another_host_is_broken_only_once_its_heartbeat_stops(tmp_path):
    lock = FileLock(tmp_path / 'x.npy', timeout=1.5, stale_after=1.0)
    _foreign_lease(lock)
    stop = threading.Event()

    def beat():
        while not stop.wait(0.02):
            os.utime(lock.lease_fpath)

    beating = threading.Thread(target=beat)
    beating.start()
    try:
        with pytest.raises(errors.CacheError, match='timed out'):
            lock.acquire()
    finally:
        stop.set()
        beating.join()
    start = time.monotonic()
    with FileLock(tmp_path / 'x.npy', timeout=10.0, stale_after=1.0):
        waited = time.monotonic() - start
    assert 1.0 <= waited < 5.0


def test_release_leaves_a_lease_that_is_no_longer_ours(tmp_path):
    lock = FileLock(tmp_path / 'x.npy')
    lock.acquire()
    _foreign_lease(lock)  # as if another host broke ours and took it
    lock.release()
    assert atomic._read_lease(lock.lease_fpath) == 'other-host/boot 4242 0123abcd'


def test_stale_after_must_be_positive(tmp_path):
    with pytest.raises(errors.InvalidOptionError, match='stale_after'):
        FileLock(tmp_path / 'x.npy', stale_after=0)
