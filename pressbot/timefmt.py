"""Short spans of time for people: ``90`` → ``1m``, ``7200`` → ``2h`` (tables, bot replies)."""

from __future__ import annotations

from datetime import datetime

UNITS = (("d", 86400), ("h", 3600), ("m", 60))


def span(seconds: float) -> str:
    """The span in its largest whole unit (d, h, m, s); negative spans count as 0s."""
    whole = max(0, int(seconds))
    for unit, size in UNITS:
        if whole >= size:
            return f"{whole // size}{unit}"
    return f"{whole}s"


def until(moment: datetime, now: datetime) -> str:
    """How long from ``now`` to ``moment`` (0s once it has passed)."""
    return span((moment - now).total_seconds())
