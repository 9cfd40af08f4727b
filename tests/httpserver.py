"""A real HTTP server on 127.0.0.1 for tests: serves ../shared/fixtures and misbehaves on request.

Routes (all GET):
  /feeds/<path>        a fixture feed (``*.gz`` is sent gzip-encoded); ``Header:`` lines in a
                       feedparser-style comment become response headers; ETag + 304 supported
  /pages/<path>        a fixture page (``*.html.gz`` sent gzip-encoded)
  /data/<name>         a document registered by the test (``server.documents[name] = (bytes, content_type)``)
  /status/<code>       answers that status
  /redirect/<n>/<rest> n redirects, then /<rest>
  /sleep/<s>/<rest>    waits s seconds, then serves /<rest>
  /drip                sends a byte every 0.2 s, forever (a slow server)
  /huge                claims and streams 2 GB
  /endless             streams without Content-Length until the client gives up
  /flaky/<n>/<rest>    503 for the first n requests of that path, then /<rest>
  /ratelimited/<s>/<rest>  429 with Retry-After: s the first time, then /<rest>
  /robots.txt          from ``server.robots`` (404 when None)
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import re
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

HEADER_RE = re.compile(rb"^\s*Header:\s*([\w-]+):\s*(.+?)\s*$", re.M)


class FixtureHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fixtures: Path | None, host: str = "127.0.0.1"):
        super().__init__((host, 0), _Handler)
        self.fixtures = fixtures
        self.documents: dict[str, tuple[bytes, str]] = {}
        self.robots: str | None = None
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.hits: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients hanging up on /huge, /endless and /drip is what those routes test

    @property
    def base(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, path: str) -> str:
        return f"{self.base}/{path.lstrip('/')}"

    def __enter__(self) -> FixtureHTTPServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: FixtureHTTPServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # keep pytest output clean
        pass

    def do_GET(self) -> None:
        with self.server.lock:
            self.server.requests.append((self.path, dict(self.headers.items())))
            self.server.hits[self.path] += 1
            count = self.server.hits[self.path]
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self._route(self.path.split("?")[0], count)

    # ------------------------------------------------------------------ routing

    def _route(self, path: str, count: int) -> None:
        parts = path.strip("/").split("/")
        head = parts[0]
        if head == "status":
            return self._send(int(parts[1]), f"status {parts[1]}\n".encode(), "text/plain")
        if head == "redirect":
            remaining = int(parts[1])
            target = (
                "/" + "/".join(parts[2:])
                if remaining <= 1
                else f"/redirect/{remaining - 1}/" + "/".join(parts[2:])
            )
            return self._send(302, b"", "text/plain", {"Location": target})
        if head == "sleep":
            time.sleep(float(parts[1]))
            return self._route("/" + "/".join(parts[2:]), count)
        if head == "flaky":
            if count <= int(parts[1]):
                return self._send(503, b"busy", "text/plain")
            return self._route("/" + "/".join(parts[2:]), count)
        if head == "ratelimited":
            if count == 1:
                return self._send(429, b"slow down", "text/plain", {"Retry-After": parts[1]})
            return self._route("/" + "/".join(parts[2:]), count)
        if head == "drip":
            return self._drip()
        if head in ("huge", "endless"):
            return self._stream_forever(declare=head == "huge")
        if head == "robots.txt":
            if self.server.robots is None:
                return self._send(404, b"", "text/plain")
            return self._send(200, self.server.robots.encode(), "text/plain")
        if head == "data" and "/".join(parts[1:]) in self.server.documents:
            body, content_type = self.server.documents["/".join(parts[1:])]
            return self._send_cached(body, content_type, {})
        if head in ("feeds", "pages") and self.server.fixtures is not None:
            return self._fixture(self.server.fixtures / head / "/".join(parts[1:]))
        return self._send(404, b"not found", "text/plain")

    def _fixture(self, file: Path) -> None:
        if not file.is_file() or ".." in file.parts:
            return self._send(404, b"not found", "text/plain")
        raw = file.read_bytes()
        plain = gzip.decompress(raw) if file.suffix == ".gz" else raw
        headers = {
            m.group(1).decode(): m.group(2).decode("latin-1") for m in HEADER_RE.finditer(plain[:2000])
        }
        content_type = headers.pop(
            "Content-type",
            headers.pop("Content-Type", "application/xml" if "feeds" in file.parts else "text/html"),
        )
        if file.suffix == ".gz":
            return self._send_cached(raw, content_type, headers | {"Content-Encoding": "gzip"}, etag_of=plain)
        return self._send_cached(plain, content_type, headers)

    # ------------------------------------------------------------------ senders

    def _send_cached(
        self, body: bytes, content_type: str, headers: dict[str, str], etag_of: bytes | None = None
    ) -> None:
        etag = '"' + hashlib.sha1(etag_of or body).hexdigest()[:16] + '"'
        if self.headers.get("If-None-Match") == etag:
            return self._send(304, b"", content_type, {"ETag": etag})
        return self._send(
            200,
            body,
            content_type,
            headers | {"ETag": etag, "Last-Modified": "Wed, 09 Apr 2025 10:00:00 GMT"},
        )

    def _send(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if status != 304:
            self.wfile.write(body)

    def _drip(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", "100000")
        self.end_headers()
        for _ in range(500):
            self.wfile.write(b" ")
            self.wfile.flush()
            time.sleep(0.2)

    def _stream_forever(self, *, declare: bool) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/xml")
        if declare:
            self.send_header("Content-Length", str(2 * 1024**3))
        else:
            self.send_header("Connection", "close")
        self.end_headers()
        chunk = b"<rss>" + b"x" * 65531
        for _ in range(2 * 1024**3 // len(chunk)):
            self.wfile.write(chunk)
