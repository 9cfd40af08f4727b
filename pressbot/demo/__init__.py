"""The demo's sample outlets: invented zh/it/en feeds about the same events, served from 127.0.0.1.

Input → output: the bundled templates (``feeds/``, ``sources.yaml``) and a moment ``now`` →
feed bodies whose dates are relative to ``now`` (so they always fall inside the digest's
period and the story window), and the demo's ``sources.yaml`` text pointing at the local
server. :class:`DemoServer` is the only I/O here: a small HTTP server on a free port of
127.0.0.1, in a background thread, that renders each feed when it is requested.

Every text under ``feeds/`` was written for this project (after the Shenzhen–Milan
Bi-City Fashion Week press release): nothing is copied from any publisher.
"""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from zoneinfo import ZoneInfo

# Where each template is served, and its content type.
ROUTES = {
    "/feeds/pengcheng-daily.rss": ("pengcheng-daily.rss", "application/rss+xml; charset=utf-8"),
    "/api/longhua-news.json": ("longhua-news.json", "application/json; charset=utf-8"),
    "/feeds/gazzetta-moda.atom": ("gazzetta-moda.atom", "application/atom+xml; charset=utf-8"),
    "/feeds/il-naviglio.rss": ("il-naviglio.rss", "application/rss+xml; charset=utf-8"),
    "/feeds/harbour-wire.rss": ("harbour-wire.rss", "application/rss+xml; charset=utf-8"),
    "/feeds/design-dispatch.atom": ("design-dispatch.atom", "application/atom+xml; charset=utf-8"),
}
PLACEHOLDER_RE = re.compile(r"\{\{\s*((?:\d+[dhm])+)\s+ago\s*\}\}")
PART_RE = re.compile(r"(\d+)([dhm])")
UNITS = {"d": 86400, "h": 3600, "m": 60}
# The JSON endpoint gives Beijing time without an offset, as CCTV's does (sources.yaml says so).
BEIJING = ZoneInfo("Asia/Shanghai")


def _template(name: str) -> str:
    return (resources.files(__package__) / "feeds" / name).read_text(encoding="utf-8")


def _format(moment: datetime, name: str) -> str:
    if name.endswith(".rss"):
        return format_datetime(moment)  # RFC 822, as RSS 2.0 wants
    if name.endswith(".json"):
        return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")
    return moment.isoformat().replace("+00:00", "Z")  # Atom: RFC 3339


def render_feed(name: str, *, now: datetime) -> str:
    """One feed template with each ``{{5h ago}}`` replaced by that moment, in the feed's date format."""

    def moment(match: re.Match[str]) -> str:
        seconds = sum(int(n) * UNITS[unit] for n, unit in PART_RE.findall(match.group(1)))
        return _format((now - timedelta(seconds=seconds)).replace(microsecond=0), name)

    return PLACEHOLDER_RE.sub(moment, _template(name))


def sources_yaml(base_url: str, *, chat: str, language: str, timezone: str) -> str:
    """The demo's sources.yaml: the sample outlets at ``base_url``, and one channel."""
    text = (resources.files(__package__) / "sources.yaml").read_text(encoding="utf-8")
    for key, value in (("base", base_url), ("chat", chat), ("language", language), ("timezone", timezone)):
        text = text.replace("{" + key + "}", value)
    return text


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        route = ROUTES.get(self.path.split("?", 1)[0])
        if route is None:
            self.send_error(404, "not a demo feed")
            return
        name, content_type = route
        body = render_feed(name, now=datetime.now(UTC)).encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002  (the base class's name)
        pass  # the demo prints its own narrative


class DemoServer:
    """The sample outlets on http://127.0.0.1:<a free port>, for as long as the ``with`` block lasts."""

    def __init__(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="pressbot-demo", daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> DemoServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
