"""Typed errors, each ``str()`` a full sentence that says what failed and what to do next.

    PressbotError
     ├── ConfigError        sources.yaml or settings are wrong (nothing starts)
     ├── FetchError         an HTTP fetch failed (status, timeout, size, blocked URL, robots.txt)
     ├── ParseError         a feed, page or JSON body could not be read
     ├── ExtractError       no article text could be extracted from a page
     ├── StoreError         the archive could not be opened or written
     └── TranslateError     a translation package is missing, broken or cannot be installed

They become output only at the edges: the CLI prints them and exits non-zero, the pipeline
records them on the source's state so the cycle goes on.
"""

from __future__ import annotations


class PressbotError(Exception):
    """Base of every error pressbot raises on purpose."""


class ConfigError(PressbotError):
    """The configuration (sources.yaml, environment) is invalid."""


class FetchError(PressbotError):
    """A URL could not be fetched.

    ``retryable`` says whether trying again later may help (timeouts, 5xx, 429).
    """

    def __init__(self, message: str, *, url: str = "", status: int | None = None, retryable: bool = False):
        super().__init__(message)
        self.url = url
        self.status = status
        self.retryable = retryable


class ParseError(PressbotError):
    """A fetched body is not a readable feed, page or JSON document."""


class ExtractError(PressbotError):
    """No article body could be extracted from a page."""


class StoreError(PressbotError):
    """The archive could not be opened, migrated or written."""


class TranslateError(PressbotError):
    """A translation could not be made or a translation package could not be installed or removed."""
