"""Opening rasters: recognising URLs and GDAL virtual paths, the GDAL settings to read them, one opener;
HTTP range requests for the remote COG reader.

Lives at the bottom layer because both the delayed readers (which open remote
COGs) and the cache backends (which validate remote cache files) need it.

``s3://bucket/key`` (and ``/vsis3/bucket/key``) is read by :func:`fetch_range` when
botocore is installed (the ``remote`` extra): requests go to the endpoint GDAL's own
settings name (``AWS_S3_ENDPOINT``, ``AWS_HTTPS``, ``AWS_VIRTUAL_HOSTING``), signed with
SigV4 from botocore's usual credential chain (unsigned with ``AWS_NO_SIGN_REQUEST=YES``).
Without botocore, ``s3://`` opens through GDAL's ``/vsis3/`` with the same settings.
"""
from __future__ import annotations

import functools
import http.client
import os
import threading
import urllib.parse
import warnings
from typing import Any, NamedTuple

import rasterio
import rasterio.io
from rasterio.errors import NotGeoreferencedWarning, RasterioIOError

from ndsampler._typing import PathLike
from ndsampler.errors import ImageReadError, SourceNotFoundError, raise_if_out_of_descriptors

__all__ = ['GDAL_REMOTE_OPTIONS', 'is_remote', 'gdal_path', 'gdal_env', 'open_raster', 'Validator', 'range_url',
           'fetch_range', 's3_signing_available']

#: GDAL settings for reading COGs over HTTP range requests (no directory
#: listing probes, only the extensions we read, a block cache for remote tiles).
GDAL_REMOTE_OPTIONS = {
    'GDAL_DISABLE_READDIR_ON_OPEN': 'EMPTY_DIR',
    'CPL_VSIL_CURL_ALLOWED_EXTENSIONS': '.tif,.tiff,.TIF,.TIFF',
    'GDAL_HTTP_MERGE_CONSECUTIVE_RANGES': 'YES',
    'GDAL_HTTP_MULTIPLEX': 'YES',
    'VSI_CACHE': 'TRUE',
}

_REMOTE_PREFIXES = ('http://', 'https://', 's3://', '/vsicurl/', '/vsis3/', '/vsigs/', '/vsiaz/')


def is_remote(fpath: PathLike) -> bool:
    """True for URLs and GDAL virtual remote paths (read-only, never stat-ed).

    Example
    -------
    >>> is_remote('https://host/a.tif'), is_remote('/vsicurl/http://host/a.tif'), is_remote('/data/a.tif')
    (True, True, False)
    """
    return (fpath if isinstance(fpath, str) else os.fspath(fpath)).startswith(_REMOTE_PREFIXES)


def gdal_path(fpath: PathLike) -> str:
    """The string GDAL opens: ``http(s)://`` URLs become ``/vsicurl/`` paths, ``s3://`` ``/vsis3/`` (others pass through).

    Example
    -------
    >>> gdal_path('http://127.0.0.1:8000/a.tif'), gdal_path('s3://bucket/a.tif')
    ('/vsicurl/http://127.0.0.1:8000/a.tif', '/vsis3/bucket/a.tif')
    """
    text = os.fspath(fpath)
    if text.startswith(('http://', 'https://')):
        return '/vsicurl/' + text
    if text.startswith('s3://'):
        return '/vsis3/' + text[len('s3://'):]
    return text


def gdal_env() -> rasterio.Env:
    """A ``rasterio.Env`` with :data:`GDAL_REMOTE_OPTIONS` (harmless for local files)."""
    return rasterio.Env(**GDAL_REMOTE_OPTIONS)


def open_raster(fpath: PathLike, **kwargs: Any) -> rasterio.io.DatasetReader:
    """Open a raster with rasterio (``http(s)://`` via ``/vsicurl/``), raising ndsampler errors.

    Un-georeferenced images are normal here, so rasterio's warning about them is
    silenced. Remote paths need :func:`gdal_env` around the call. ``kwargs`` go
    to ``rasterio.open`` (e.g. ``overview_level``).

    Raises
    ------
    SourceNotFoundError
        A local path that does not exist.
    ImageReadError
        Anything GDAL cannot open as a raster.
    OSError
        No file descriptor left (EMFILE / ENFILE): nothing is wrong with the file.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', NotGeoreferencedWarning)
            return rasterio.open(gdal_path(fpath), **kwargs)
    except RasterioIOError as ex:
        if not is_remote(fpath) and not os.path.exists(fpath):
            raise SourceNotFoundError(f'no such file: {fpath}') from None
        raise_if_out_of_descriptors(ex, fpath)
        raise ImageReadError(f'cannot open {fpath} as a raster: {ex}') from ex


#: How long one range request may wait for the server (connect or read), in seconds.
RANGE_TIMEOUT = 30.0


class Validator(NamedTuple):
    """What identifies one version of a remote file: its total size, ``ETag`` and ``Last-Modified`` (None if not sent).

    Every range response carries it, so a changed file is noticed by the first
    request that reaches it (see :class:`ndsampler.delayed.readers.RemoteCogReader`).
    """

    size: int
    etag: str | None
    last_modified: str | None


def range_url(fpath: str) -> str:
    """The ``http(s)://`` or ``s3://`` URL a path is read from by range requests (``/vsicurl/`` and ``/vsis3/`` unwrapped).

    Example
    -------
    >>> range_url('/vsicurl/http://host/a.tif'), range_url('/vsis3/bucket/a.tif')
    ('http://host/a.tif', 's3://bucket/a.tif')
    """
    if fpath.startswith('/vsicurl/'):
        return fpath[len('/vsicurl/'):]
    if fpath.startswith('/vsis3/'):
        return 's3://' + fpath[len('/vsis3/'):]
    return fpath


def s3_signing_available() -> bool:
    """True when botocore is installed: ``s3://`` objects are then read by signed range requests, else through GDAL."""
    try:
        import botocore.auth  # noqa: F401
    except ImportError:
        return False
    return True


def _gdal_flag(name: str, default: bool) -> bool:
    """The yes/no GDAL setting ``name`` from the environment, by GDAL's rule (``CPLTestBool``): NO, FALSE, OFF
    and 0 (any case) are false, any other value true; ``default`` when unset."""
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().upper() not in ('NO', 'FALSE', 'OFF', '0')


def _s3_http_url(url: str) -> str:
    """The HTTP URL of an ``s3://bucket/key`` object, from GDAL's own settings.

    ``AWS_S3_ENDPOINT`` (host[:port], default ``s3.amazonaws.com``), ``AWS_HTTPS``
    (``NO`` for plain HTTP) and ``AWS_VIRTUAL_HOSTING`` (``FALSE`` for path-style
    ``endpoint/bucket/key``) mean what they mean to GDAL's ``/vsis3/``.
    """
    bucket, _, key = url[len('s3://'):].partition('/')
    endpoint = os.environ.get('AWS_S3_ENDPOINT', 's3.amazonaws.com')
    scheme = 'https' if _gdal_flag('AWS_HTTPS', True) else 'http'
    if not _gdal_flag('AWS_VIRTUAL_HOSTING', True):
        return f'{scheme}://{endpoint}/{bucket}/{urllib.parse.quote(key)}'
    return f'{scheme}://{bucket}.{endpoint}/{urllib.parse.quote(key)}'


@functools.lru_cache(maxsize=1)
def _s3_session():
    """One botocore session per process (building one reads its config files)."""
    import botocore.session
    return botocore.session.get_session()


def _s3_credentials() -> tuple[Any, str]:
    """botocore's credentials (None: none found; refreshed by botocore when they expire) and the region to sign for."""
    session = _s3_session()
    region = (os.environ.get('AWS_REGION') or os.environ.get('AWS_DEFAULT_REGION')
              or session.get_config_variable('region') or 'us-east-1')
    return session.get_credentials(), region


def _s3_headers(http_url: str, headers: dict[str, str]) -> dict[str, str]:
    """``headers`` plus an AWS SigV4 signature (botocore's), unless ``AWS_NO_SIGN_REQUEST=YES`` or no credentials."""
    if _gdal_flag('AWS_NO_SIGN_REQUEST', False):
        return headers
    import botocore.auth
    import botocore.awsrequest
    credentials, region = _s3_credentials()
    if credentials is None:
        return headers
    request = botocore.awsrequest.AWSRequest(method='GET', url=http_url, headers=headers)
    botocore.auth.S3SigV4Auth(credentials.get_frozen_credentials(), 's3', region).add_auth(request)
    return dict(request.headers.items())


class _Connections(threading.local):
    """Keep-alive HTTP connections of one thread, by (scheme, host:port)."""

    def __init__(self):
        self.pid = os.getpid()
        self.by_host: dict[tuple[str, str], http.client.HTTPConnection] = {}


_connections = _Connections()


def _connection(scheme: str, netloc: str) -> http.client.HTTPConnection:
    if _connections.pid != os.getpid():  # forked: the parent's sockets are not ours
        _connections.by_host = {}
        _connections.pid = os.getpid()
    conn = _connections.by_host.get((scheme, netloc))
    if conn is None:
        cls = http.client.HTTPSConnection if scheme == 'https' else http.client.HTTPConnection
        conn = _connections.by_host[(scheme, netloc)] = cls(netloc, timeout=RANGE_TIMEOUT)
    return conn


def fetch_range(url: str, start: int, stop: int) -> tuple[bytes, Validator]:
    """Bytes ``[start, stop)`` of a remote file by one HTTP range request, and the file's :class:`Validator`.

    ``url`` is ``http(s)://...`` or ``s3://bucket/key`` (see :func:`range_url`; S3
    requests are signed with botocore). Connections are kept alive per thread and
    reopened once when the server closed them. ``stop`` past the end of the file
    returns what there is.

    Raises
    ------
    ImageReadError
        The server refused the request or answered something other than the range.
    OSError
        No file descriptor left (EMFILE / ENFILE).
    """
    headers = {'Range': f'bytes={start}-{stop - 1}'}
    http_url = url
    if url.startswith('s3://'):
        http_url = _s3_http_url(url)
        headers = _s3_headers(http_url, headers)
    parts = urllib.parse.urlsplit(http_url)
    target = parts.path + (f'?{parts.query}' if parts.query else '')
    for attempt in (0, 1):
        conn = _connection(parts.scheme, parts.netloc)
        try:
            conn.request('GET', target or '/', headers=headers)
            response = conn.getresponse()
            body = response.read()
        except (http.client.RemoteDisconnected, http.client.CannotSendRequest, ConnectionError) as ex:
            conn.close()
            if attempt:
                raise ImageReadError(f'cannot read bytes {start}-{stop - 1} of {url}: {ex}') from ex
            continue
        except OSError as ex:
            conn.close()
            raise_if_out_of_descriptors(ex, url)
            raise ImageReadError(f'cannot read bytes {start}-{stop - 1} of {url}: {ex}') from ex
        if response.will_close:
            conn.close()
        break
    status = response.status
    etag, modified = response.getheader('ETag'), response.getheader('Last-Modified')
    if status == 206:
        total = response.getheader('Content-Range', '').rpartition('/')[2]
        if not total.isdigit():
            raise ImageReadError(f'{url} answered a range request without its size (Content-Range '
                                 f'{response.getheader("Content-Range")!r}); allowed: bytes a-b/size')
        return body, Validator(int(total), etag, modified)
    if status == 200:  # the server ignores ranges: it sent the whole file
        return body[start:stop], Validator(len(body), etag, modified)
    if status == 416:  # the range starts past the end
        total = response.getheader('Content-Range', '').rpartition('/')[2]
        return b'', Validator(int(total) if total.isdigit() else start, etag, modified)
    raise ImageReadError(f'cannot read {url}: HTTP {status} {response.reason}; allowed: a readable remote file')
