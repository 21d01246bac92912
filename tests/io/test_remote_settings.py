"""GDAL's yes/no settings as the range reader reads them (one rule: GDAL's CPLTestBool)."""
import pytest

from ndsampler.io.remote import _gdal_flag, _s3_headers, _s3_http_url


@pytest.mark.parametrize('value, expected', [('NO', False), ('false', False), ('Off', False), ('0', False),
                                             ('YES', True), ('true', True), ('on', True), ('1', True), ('y', True)])
def test_gdal_flag_values(monkeypatch, value, expected):
    monkeypatch.setenv('AWS_HTTPS', value)
    assert _gdal_flag('AWS_HTTPS', not expected) is expected


def test_gdal_flag_default_when_unset(monkeypatch):
    monkeypatch.delenv('AWS_HTTPS', raising=False)
    assert _gdal_flag('AWS_HTTPS', True) is True
    assert _gdal_flag('AWS_HTTPS', False) is False


def test_s3_url_and_signing_follow_the_flags(monkeypatch):
    monkeypatch.setenv('AWS_S3_ENDPOINT', 'localhost:9000')
    monkeypatch.delenv('AWS_HTTPS', raising=False)
    monkeypatch.delenv('AWS_VIRTUAL_HOSTING', raising=False)
    assert _s3_http_url('s3://bucket/a b.tif') == 'https://bucket.localhost:9000/a%20b.tif'
    monkeypatch.setenv('AWS_HTTPS', 'off')
    monkeypatch.setenv('AWS_VIRTUAL_HOSTING', 'FALSE')
    assert _s3_http_url('s3://bucket/a b.tif') == 'http://localhost:9000/bucket/a%20b.tif'
    monkeypatch.setenv('AWS_NO_SIGN_REQUEST', 'yes')
    headers = {'Range': 'bytes=0-9'}
    assert _s3_headers('http://localhost:9000/bucket/a.tif', headers) == headers
