"""The None backend through the conformance suite: sources are read in place."""
from conformance import BackendConformance, make_pixels

from ndsampler.backends import NoneBackend, source_identity
from ndsampler.io import write_cog


class TestNoneBackend(BackendConformance):
    spec = None
    converts = False


def test_cog_source_is_used_in_place(tmp_path):
    src = write_cog(tmp_path / 'a.tif', make_pixels((300, 300, 3), 'uint8'))
    root = tmp_path / 'cache'
    fpath, nbytes = NoneBackend().ensure(source_identity(src), root)
    assert fpath == str(src.resolve()) and nbytes == 0
    assert NoneBackend().header(fpath).num_overviews == 1
    assert not root.exists()
