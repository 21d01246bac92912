"""A loopback HTTP server of static files with range requests, for the remote-reading tests."""
import http.server
import os
import re
import threading
import time
from functools import partial


class RangeHandler(http.server.SimpleHTTPRequestHandler):
    """Static files with single-range ``Range: bytes=a-b`` support, ETag / Last-Modified, HTTP/1.1 keep-alive.

    The server's ``delay`` (seconds) is slept before each answer; every request is
    appended to the server's ``log`` as ``(path, range header)``; ``max_inflight`` is
    the most requests it answered at once (:meth:`account`; the remote benchmark
    overrides it to count requests across processes).
    """

    protocol_version = 'HTTP/1.1'

    def log_message(self, *args):
        pass

    def account(self):
        """Before each answer: log the request, count it in flight, sleep the server's ``delay``."""
        server = self.server
        server.log.append((self.path, self.headers.get('Range')))
        with server.lock:
            server.inflight += 1
            server.max_inflight = max(server.max_inflight, server.inflight)
        try:
            if server.delay:
                time.sleep(server.delay)
        finally:
            with server.lock:
                server.inflight -= 1

    def send_head(self):
        self.account()
        fpath = self.translate_path(self.path)
        if not os.path.isfile(fpath):
            self.send_error(404)
            return None
        stat = os.stat(fpath)
        size = stat.st_size
        match = re.match(r'bytes=(\d*)-(\d*)$', self.headers.get('Range', ''))
        file = open(fpath, 'rb')
        if match is None:
            self.send_response(200)
            start, end = 0, size - 1
        else:
            start = int(match.group(1)) if match.group(1) else size - int(match.group(2))
            end = min(int(match.group(2)), size - 1) if match.group(1) and match.group(2) else size - 1
            self.send_response(206)
            self.send_header('Content-Range', f'bytes {start}-{end}/{size}')
        self.send_header('Accept-Ranges', 'bytes')
        self.send_header('Content-Type', 'image/tiff')
        self.send_header('ETag', f'"{size:x}-{stat.st_mtime_ns:x}"')
        self.send_header('Last-Modified', self.date_time_string(int(stat.st_mtime)))
        self.send_header('Content-Length', str(end - start + 1))
        self.end_headers()
        file.seek(start)
        self._remaining = end - start + 1
        return file

    def copyfile(self, source, outputfile):
        outputfile.write(source.read(self._remaining))


class RangeServer:
    """``with RangeServer(root) as server``: ``server.url`` serves ``root`` on 127.0.0.1 until the block ends."""

    def __init__(self, root, delay=0.0):
        self.httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), partial(RangeHandler, directory=str(root)))
        self.httpd.daemon_threads = True
        self.httpd.delay = delay
        self.httpd.log = []
        self.httpd.lock = threading.Lock()
        self.httpd.inflight = self.httpd.max_inflight = 0
        self.url = f'http://127.0.0.1:{self.httpd.server_address[1]}'
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    @property
    def log(self):
        return self.httpd.log

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)
