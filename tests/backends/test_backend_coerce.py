"""coerce_backend: every accepted spec form and every rejection."""
import pytest

from ndsampler.backends import CogBackend, NoneBackend, NpyBackend, coerce_backend
from ndsampler.errors import InvalidOptionError


@pytest.mark.parametrize('spec, cls', [
    (None, NoneBackend), ('cog', CogBackend), ('COG', CogBackend), ('auto', CogBackend), ('npy', NpyBackend),
    ({'type': 'npy'}, NpyBackend), ({'type': None}, NoneBackend), ({'type': 'cog', 'config': None}, CogBackend),
])
def test_accepted_specs(spec, cls):
    assert type(coerce_backend(spec)) is cls


def test_config_is_validated_and_normalized():
    backend = coerce_backend({'type': 'cog', 'config': {'compress': 'deflate', 'blocksize': 512, 'overviews': 3}})
    assert backend.config == {'compress': 'DEFLATE', 'blocksize': 512, 'overviews': 3, 'level': 6}
    assert coerce_backend(backend) is backend
    assert coerce_backend(backend.to_dict()) == backend
    assert coerce_backend('cog').config_hash != backend.config_hash


def test_cog_level_defaults_per_codec_and_is_part_of_the_key():
    assert coerce_backend('cog').config['level'] == 1
    assert coerce_backend({'type': 'cog', 'config': {'level': None}}).config['level'] == 1
    assert coerce_backend({'type': 'cog', 'config': {'compress': 'none'}}).config['level'] is None
    for compress in ['NONE', 'JPEG', 'ZSTD', 'DEFLATE', 'LZMA']:
        backend = coerce_backend({'type': 'cog', 'config': {'compress': compress}})
        assert coerce_backend(backend.to_dict()) == backend
    hashes = {coerce_backend({'type': 'cog', 'config': {'level': lvl}}).config_hash for lvl in [1, 2, 9]}
    assert len(hashes) == 3


@pytest.mark.parametrize('spec, match', [
    ('tiff', 'backend'),
    ({'type': 'cog', 'extra': 1}, 'extra'),
    ({'type': 'cog', 'config': {'compress': 'GZIP'}}, 'GZIP'),
    ({'type': 'cog', 'config': {'blocksize': 100}}, 'blocksize'),
    ({'type': 'cog', 'config': {'blocksize': True}}, 'blocksize'),
    ({'type': 'cog', 'config': {'overviews': -1}}, 'overviews'),
    ({'type': 'cog', 'config': {'overviews': 'some'}}, 'overviews'),
    ({'type': 'npy', 'config': {'compress': 'ZSTD'}}, 'compress'),
    ({'type': 'cog', 'config': {'level': 0}}, 'level'),
    ({'type': 'cog', 'config': {'level': 23}}, 'level'),
    ({'type': 'cog', 'config': {'level': 'fast'}}, 'level'),
    ({'type': 'cog', 'config': {'level': 2.0}}, 'level'),
    ({'type': 'cog', 'config': {'compress': 'NONE', 'level': 3}}, 'level'),
    ({'type': 'cog', 'config': {'compress': 'LZMA', 'level': 10}}, 'level'),
    ({'type': 'npy', 'config': [1]}, 'config'),
])
def test_rejected_specs(spec, match):
    with pytest.raises(InvalidOptionError, match=match):
        coerce_backend(spec)
