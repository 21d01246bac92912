"""The npy backend through the conformance suite, plus memory mapping."""
from conformance import BackendConformance, make_pixels, write_tif

from ndsampler.backends import NpyBackend, source_identity


class TestNpyBackend(BackendConformance):
    spec = 'npy'


def test_npy_is_memory_mapped(tmp_path):
    src = write_tif(tmp_path / 'a.tif', make_pixels((40, 30, 2), 'float32'))
    backend = NpyBackend()
    fpath, _ = backend.ensure(source_identity(src), tmp_path / 'cache')
    window = backend.read(fpath, (slice(0, 10), slice(0, 10)))
    assert not window.flags.owndata, 'a window of the memory map, not a decoded copy'
