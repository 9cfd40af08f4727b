"""Log lines for the long-running commands (`pressbot run`, `pressbot bot`): one line per event,
as text or as one JSON object per line (for a log collector).

Input → output: the chosen format → the root logger's handler on stderr. pressbot's own loggers
log at INFO (what the service does); the libraries only their warnings unless ``verbose``.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

LIBRARIES = ("httpx", "httpcore", "telegram", "apscheduler", "hpack", "urllib3")


class JsonFormatter(logging.Formatter):
    """``{"time": …, "level": …, "logger": …, "message": …}`` (+ ``error`` with a traceback)."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        return datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def configure(log_format: str, *, verbose: bool = False) -> None:
    """Send log lines to stderr in ``log_format`` (text | json), replacing earlier handlers."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.INFO if verbose else logging.WARNING)
    logging.getLogger("pressbot").setLevel(logging.INFO)
    for name in LIBRARIES:
        logging.getLogger(name).setLevel(logging.INFO if verbose else logging.WARNING)
