"""The backend conformance suite: every backend's test module subclasses
:class:`BackendConformance` and sets ``spec`` (plus ``alt_configs``); the tests run unchanged."""
from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import rasterio

from ndsampler.backends import CHECK_LEVELS, FRAME_STATES, coerce_backend, forget_identities, source_identity
from ndsampler.backends._checksums import SIDECAR_SUFFIX
from ndsampler.delayed.readers import ReaderPool
from ndsampler.errors import ConversionError, ImageReadError, InvalidOptionError, SourceNotFoundError

DTYPES = ['uint8', 'uint16', 'float32']
BANDS = [1, 3, 5]


def make_pixels(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == 'f':
        return rng.normal(0, 100, size=shape).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, size=shape, endpoint=True).astype(dtype)


def smooth_pixels(shape, dtype='uint8'):
    """Compressible content (gradients): damage to compressed tiles of it breaks their decoding."""
    h, w, c = shape
    yy, xx = np.mgrid[0:h, 0:w]
    return np.stack([(xx * (k + 1) + yy * 2) % 200 for k in range(c)], axis=2).astype(dtype)


def write_tif(fpath: Path, data: np.ndarray, nodata=None) -> Path:
    """A plain (striped, uncompressed, not COG) GeoTIFF source, optionally declaring ``nodata``."""
    h, w, c = data.shape
    with rasterio.open(fpath, 'w', driver='GTiff', width=w, height=h, count=c, dtype=data.dtype.name,
                       nodata=nodata) as dst:
        dst.write(data.transpose(2, 0, 1))
    return fpath


def zero_tile(fpath, level: int = 0, tile=(1, 1)) -> None:
    """Zero the middle half of one COG tile's bytes at pyramid ``level`` (0: full resolution)."""
    kw = {} if level == 0 else {'overview_level': level - 1}
    with rasterio.open(fpath, **kw) as ds:
        offset = int(ds.get_tag_item(f'BLOCK_OFFSET_{tile[0]}_{tile[1]}', 'TIFF', bidx=1))
        size = int(ds.get_tag_item(f'BLOCK_SIZE_{tile[0]}_{tile[1]}', 'TIFF', bidx=1))
    with open(fpath, 'r+b') as file:
        file.seek(offset + size // 4)
        file.write(bytes(size // 2))


def bump_mtime(fpath: Path, seconds: int = 10) -> None:
    """Make an in-place edit visible regardless of the filesystem's timestamp granularity."""
    stat = os.stat(fpath)
    os.utime(fpath, ns=(stat.st_atime_ns, stat.st_mtime_ns + seconds * 10 ** 9))


class BackendConformance:
    """Behaviour every backend shares. Subclasses set ``spec`` and ``alt_configs``."""

    spec = None
    #: Config dicts that must each give a different key than the defaults.
    alt_configs: list = []
    #: Whether the backend writes cache files (False for None: sources are read in place).
    converts = True
    shape = (67, 83)

    @pytest.fixture
    def backend(self):
        return coerce_backend(self.spec)

    @pytest.fixture
    def root(self, tmp_path):
        return tmp_path / '_cache' / 'frames'

    def _source(self, tmp_path, dtype='uint8', bands=3, seed=0, name='src.tif', smooth=False):
        data = smooth_pixels(self.shape + (bands,), dtype) if smooth else make_pixels(self.shape + (bands,), dtype, seed)
        fpath = write_tif(tmp_path / name, data)
        forget_identities(fpath)
        return fpath, data

    @pytest.mark.parametrize('bands', BANDS)
    @pytest.mark.parametrize('dtype', DTYPES)
    def test_roundtrip_is_lossless(self, backend, root, tmp_path, dtype, bands):
        src, data = self._source(tmp_path, dtype, bands)
        fpath, nbytes = backend.ensure(source_identity(src), root)
        assert (nbytes > 0) == self.converts
        got = np.asarray(backend.read(fpath))
        assert got.dtype == data.dtype and got.shape == data.shape
        np.testing.assert_array_equal(got, data)
        header = backend.header(fpath)
        assert header.dsize == (self.shape[1], self.shape[0]) and header.num_bands == bands

    @pytest.mark.parametrize('dtype, nodata', [('uint16', 0), ('float32', -9999)])
    def test_source_nodata_is_kept(self, backend, root, tmp_path, dtype, nodata):
        """The cache header declares the source's nodata where the format has a field for it."""
        data = smooth_pixels(self.shape + (2,), dtype) + 1
        data[:20, :30] = nodata
        src = write_tif(tmp_path / 'nodata.tif', data, nodata=nodata)
        fpath, _ = backend.ensure(source_identity(src), root)
        np.testing.assert_array_equal(np.asarray(backend.read(fpath)), data)
        assert backend.header(fpath).nodata == (nodata if backend.records_nodata else None)

    def test_png_source(self, backend, root, tmp_path):
        import cv2
        data = make_pixels(self.shape + (3,), 'uint8')
        src = tmp_path / 'src.png'
        cv2.imwrite(str(src), data[:, :, ::-1])
        fpath, _ = backend.ensure(source_identity(src), root)
        np.testing.assert_array_equal(np.asarray(backend.read(fpath)), data)

    def test_window_equals_full_slice(self, backend, root, tmp_path):
        src, data = self._source(tmp_path, 'uint16', 3)
        fpath, _ = backend.ensure(source_identity(src), root)
        window = (slice(10, 50), slice(5, 77))
        np.testing.assert_array_equal(np.asarray(backend.read(fpath, window)), data[window])

    def test_second_ensure_is_a_hit(self, backend, root, tmp_path):
        src, _ = self._source(tmp_path)
        ident = source_identity(src)
        first, _ = backend.ensure(ident, root)
        again, nbytes = backend.ensure(ident, root)
        assert again == first and nbytes == 0
        assert backend.state(ident, root) == 'cached'

    def test_layout(self, backend, root, tmp_path):
        src, _ = self._source(tmp_path)
        ident = source_identity(src)
        fpath, _ = backend.ensure(ident, root)
        if not self.converts:
            assert fpath == str(Path(src).resolve())
            return
        rel = Path(fpath).relative_to(root)
        name, config_hash, xx, rest = rel.parts
        assert (name, config_hash) == (backend.name, backend.config_hash)
        assert len(xx) == 2 and rest.endswith('.' + backend.ext)

    def test_key_changes_with_config(self, backend, tmp_path):
        src, _ = self._source(tmp_path)
        ident = source_identity(src)
        keys = {backend.key(ident)}
        for config in self.alt_configs:
            other = coerce_backend({'type': self.spec, 'config': config})
            keys.add(other.key(ident))
        assert len(keys) == 1 + len(self.alt_configs)

    def test_unknown_config_key_raises(self):
        with pytest.raises(InvalidOptionError, match='bogus'):
            coerce_backend({'type': self.spec, 'config': {'bogus': 1}})
        with pytest.raises(ValueError):
            coerce_backend({'type': self.spec, 'config': {'bogus': 1}})

    def test_edit_in_place_serves_new_pixels(self, backend, root, tmp_path):
        src, old = self._source(tmp_path, 'uint8', 3, seed=1)
        ident = source_identity(src)
        old_fpath, _ = backend.ensure(ident, root)
        new = make_pixels(old.shape, 'uint8', seed=2)
        with rasterio.open(src, 'r+') as dst:  # same file, same size
            dst.write(new.transpose(2, 0, 1))
        bump_mtime(src)
        new_ident = source_identity(src, refresh=True)
        assert new_ident != ident and backend.key(new_ident) != backend.key(ident)
        if self.converts:
            assert backend.state(new_ident, root) == 'stale'
        fpath, _ = backend.ensure(new_ident, root)
        np.testing.assert_array_equal(np.asarray(backend.read(fpath)), new)
        assert backend.state(new_ident, root) == 'cached'
        if self.converts:
            assert not Path(old_fpath).exists(), 'older versions of a source are removed'
            assert not Path(old_fpath + SIDECAR_SUFFIX).exists(), 'with their checksums'
            assert Path(fpath + SIDECAR_SUFFIX).exists()

    @pytest.mark.parametrize('damage', ['truncate', 'garbage', 'empty', 'tile-bytes', 'noise-bytes'])
    def test_corrupt_cache_is_rebuilt(self, backend, root, tmp_path, damage):
        """Truncation and header damage fail the cheap check (``ensure`` rebuilds); zeroed
        bytes inside the data pass it but fail the deep one (``ensure(check='deep')``
        rebuilds), also where they still decode (noise that a COG stores raw, any npy):
        the checksums find them."""
        if not self.converts:
            pytest.skip('the None backend has no cache files to damage')
        src, data = self._source(tmp_path, 'uint8', 3, smooth=damage == 'tile-bytes')
        ident = source_identity(src)
        fpath, _ = backend.ensure(ident, root)
        size = os.path.getsize(fpath)
        with open(fpath, 'r+b') as file:
            if damage == 'truncate':
                file.truncate(size - 100)
            elif damage == 'garbage':
                file.write(os.urandom(64))
            elif damage in ('tile-bytes', 'noise-bytes'):
                file.seek(size // 2)
                file.write(bytes(min(1000, size // 4)))
            else:
                file.truncate(0)
        if damage in ('tile-bytes', 'noise-bytes'):
            assert os.path.getsize(fpath) == size
            assert not backend.validate(fpath, 'deep')
            assert backend.state(ident, root, 'deep') == 'corrupt'
            again, nbytes = backend.ensure(ident, root, check='deep')
        else:
            assert not any(backend.validate(fpath, check) for check in CHECK_LEVELS)
            assert backend.state(ident, root) == 'corrupt'
            again, nbytes = backend.ensure(ident, root)
        assert again == fpath and nbytes > 0
        assert backend.validate(fpath, 'deep') and backend.state(ident, root) == 'cached'
        np.testing.assert_array_equal(np.asarray(backend.read(fpath)), data)

    def test_repair_of_an_intact_frame_rewrites_nothing(self, backend, root, tmp_path):
        src, _ = self._source(tmp_path)
        ident = source_identity(src)
        fpath, _ = backend.ensure(ident, root)
        mtime = os.stat(fpath).st_mtime_ns
        assert backend.ensure(ident, root, check='deep') == (fpath, 0)
        assert os.stat(fpath).st_mtime_ns == mtime

    def test_check_levels_are_validated(self, backend, root, tmp_path):
        src, _ = self._source(tmp_path)
        fpath, _ = backend.ensure(source_identity(src), root)
        assert all(backend.validate(fpath, check) for check in CHECK_LEVELS)
        with pytest.raises(InvalidOptionError, match="check='full'"):
            backend.validate(fpath, 'full')

    def test_no_temporary_files_left(self, backend, root, tmp_path):
        for seed in range(3):
            src, _ = self._source(tmp_path, 'uint8', 3, seed=seed, name=f'src{seed}.tif')
            backend.ensure(source_identity(src), root)
        leftovers = [p for p in tmp_path.rglob('*')
                     if ('.tmp' in p.name or p.name.startswith('.')) and '.locks' not in p.parts]
        assert leftovers == []

    def test_lock_files_are_striped_per_config_folder(self, backend, root, tmp_path):
        frames = set()
        for seed in range(24):
            src, _ = self._source(tmp_path, 'uint8', 1, seed=seed, name=f'src{seed}.tif')
            frames.add(Path(backend.ensure(source_identity(src), root)[0]))
        locks = list(tmp_path.rglob('*.lock'))
        if not self.converts:
            assert locks == [] and not Path(root).exists()
            return
        config_dpath = Path(root) / backend.name / backend.config_hash
        assert {p.parent.parent for p in frames} == {config_dpath}
        assert all(p.parent == config_dpath / '.locks' for p in locks), locks
        assert sorted(p.stem for p in locks) == sorted({f.parent.name for f in frames})
        assert all(len(p.stem) == 2 for p in locks), 'two hex digits: at most 256 per config folder'

    def test_leftover_temp_of_killed_writer_is_removed(self, backend, root, tmp_path):
        if not self.converts:
            pytest.skip('the None backend writes nothing')
        src, _ = self._source(tmp_path)
        ident = source_identity(src)
        dst = Path(backend.cache_fpath(root, ident))
        dst.parent.mkdir(parents=True)
        junk = dst.parent / f'.{dst.stem}.0123456789ab.tmp.{backend.ext}'
        junk.write_bytes(b'half a frame')
        backend.ensure(ident, root)
        assert not junk.exists()

    def test_pickle_round_trip(self, backend, root, tmp_path):
        src, data = self._source(tmp_path)
        ident = source_identity(src)
        fpath, _ = backend.ensure(ident, root)
        clone = pickle.loads(pickle.dumps(backend))
        assert clone == backend and clone.config_hash == backend.config_hash
        assert clone.ensure(ident, root) == (fpath, 0)
        np.testing.assert_array_equal(np.asarray(clone.read(fpath)), data)
        assert pickle.loads(pickle.dumps(ident)) == ident

    def test_missing_source_names_it(self, backend, root, tmp_path):
        src, _ = self._source(tmp_path)
        ident = source_identity(src)
        os.unlink(src)
        assert backend.state(ident, root) == 'no_source'
        with pytest.raises(SourceNotFoundError, match='src.tif'):
            backend.ensure(ident, root)
        with pytest.raises(SourceNotFoundError, match='nope.tif'):
            source_identity(tmp_path / 'nope.tif')

    def test_undecodable_source_raises_with_its_path(self, backend, root, tmp_path):
        src = tmp_path / 'broken.png'
        src.write_bytes(b'\x89PNG not really a png' * 10)
        ident = source_identity(src)
        expected = ConversionError if self.converts else ImageReadError
        with pytest.raises(expected, match='broken.png'):
            fpath, _ = backend.ensure(ident, root)
            backend.read(fpath)

    def test_states_are_documented(self, backend, root, tmp_path):
        src, _ = self._source(tmp_path)
        ident = source_identity(src)
        assert backend.state(ident, root) in FRAME_STATES
        assert backend.state(ident, root) == ('missing' if self.converts else 'cached')

    def test_frame_without_its_checksums_is_not_cached(self, backend, root, tmp_path):
        """The sidecar is part of the frame: without it (or with one of another frame) the frame is rebuilt."""
        if not self.converts:
            pytest.skip('the None backend writes nothing')
        src, data = self._source(tmp_path, 'uint8', 3)
        ident = source_identity(src)
        fpath, _ = backend.ensure(ident, root)
        sidecar = Path(fpath + SIDECAR_SUFFIX)
        assert backend.verifier(fpath) is not None
        for damage in ('missing', 'other size'):
            if damage == 'missing':
                sidecar.unlink()
            else:
                sidecar.write_text(sidecar.read_text().replace(f'"size":{os.path.getsize(fpath)}', '"size":1'))
            assert not any(backend.validate(fpath, check) for check in CHECK_LEVELS), damage
            assert backend.state(ident, root) == 'corrupt'
            again, nbytes = backend.ensure(ident, root)
            assert again == fpath and nbytes > 0 and sidecar.exists()
            assert backend.state(ident, root, 'deep') == 'cached'
        np.testing.assert_array_equal(np.asarray(backend.read(fpath)), data)

    def test_damage_is_caught_on_the_first_read(self, backend, root, tmp_path):
        """A reader given the frame's verifier checks the blocks it reads: damaged bytes that
        decode (noise) raise ImageReadError instead of coming back as pixels."""
        if not self.converts:
            assert backend.verifier(str(self._source(tmp_path)[0])) is None, 'sources have no checksums'
            return
        src, data = self._source(tmp_path, 'uint8', 3)
        fpath, _ = backend.ensure(source_identity(src), root)
        size = os.path.getsize(fpath)
        with open(fpath, 'r+b') as file:
            file.seek(size // 2)
            file.write(bytes(16))
        assert backend.validate(fpath, 'quick'), 'same size: only checksums tell'
        unchecked = ReaderPool()
        assert not np.array_equal(unchecked.get(fpath).read(), data), 'the damage decodes to wrong pixels'
        pool = ReaderPool()
        pool.mark_immutable(fpath, verify=backend.verifier(fpath))
        with pytest.raises(ImageReadError, match='fails its checksum'):
            pool.get(fpath).read()
