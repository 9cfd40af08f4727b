"""A fake Telegram Bot API server on 127.0.0.1: real HTTP, for python-telegram-bot's ``base_url``.

``FakeTelegram(token)`` serves ``POST /bot<token>/<method>`` (form-encoded or JSON, as the Bot API
accepts): ``getMe`` and ``sendMessage``. ``sendMessage`` checks what Telegram checks — parses
``parse_mode=HTML`` (only Telegram's tags, well nested, known entities) and the 4096 limit on the
text after entity parsing, counted in UTF-16 code units — and answers a proper ``Message``.

What it was sent: ``requests`` (every call, failed or not) and ``delivered`` (messages it accepted,
each with the chat, the message id it gave, the text as shown and the raw HTML).

Failures on request:
  ``fail_next(kind, times=1)``   the next sendMessage calls fail: "429" (retry_after =
                                 ``retry_after``), "500", "403" (bot kicked), "400-chat" (chat not
                                 found), "hang" (no answer for ``hang_seconds``, then a 500)
  ``rate_429 = 0.2``             a 429 on that share of sendMessage calls (seeded random)
  ``forbidden_chats`` / ``unknown_chats``  chats that always answer 403 / 400 chat not found
  ``on_delivered``               called after a message is accepted (tests use it to kill a sender)
A wrong token answers 401 Unauthorized, as Telegram does.
"""

from __future__ import annotations

import contextlib
import html
import html.parser
import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

ALLOWED_TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre",
    "span", "tg-spoiler", "blockquote", "tg-emoji",
}  # fmt: skip
LIMIT = 4096
BOT_ID = 777000


@dataclass(frozen=True)
class Delivered:
    chat: str
    message_id: int
    text: str  # as shown (entities parsed)
    html: str
    parse_mode: str | None
    link_preview_options: dict[str, Any] | None
    at: float


class HTMLCheckError(ValueError):
    pass


class _TelegramHTML(html.parser.HTMLParser):
    """Telegram's HTML rules, strictly enough to catch unescaped text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            raise HTMLCheckError(f'Unsupported start tag "{tag}"')
        if tag == "a" and not any(name == "href" for name, _ in attrs):
            raise HTMLCheckError('Can\'t find end of the href attribute of tag "a"')
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            raise HTMLCheckError(f'Unmatched end tag "{tag}"')
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if "<" in data or ">" in data or "&" in data:
            raise HTMLCheckError(f"Unescaped character in {data[:40]!r}")
        self.text.append(data)

    def handle_entityref(self, name: str) -> None:
        if name not in ("lt", "gt", "amp", "quot"):
            raise HTMLCheckError(f'Unsupported HTML entity "&{name};"')
        self.text.append(html.unescape(f"&{name};"))

    def handle_charref(self, name: str) -> None:
        self.text.append(html.unescape(f"&#{name};"))


def parse_telegram_html(text: str) -> str:
    """The text Telegram would show, or HTMLCheckError as Telegram's "can't parse entities"."""
    parser = _TelegramHTML()
    parser.feed(text)
    parser.close()
    if parser.stack:
        raise HTMLCheckError(f'Can\'t find end tag corresponding to start tag "{parser.stack[-1]}"')
    return "".join(parser.text)


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class FakeTelegram(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, token: str = "123456:TEST-token-abcdefghijklmnopqrstuvwxyz", host: str = "127.0.0.1"):
        super().__init__((host, 0), _Handler)
        self.token = token
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.delivered: list[Delivered] = []
        self.failures: list[str] = []
        self.rate_429 = 0.0
        self.retry_after = 1
        self.hang_seconds = 2.0
        self.random = random.Random(5)
        self.forbidden_chats: set[str] = set()
        self.unknown_chats: set[str] = set()
        self.on_delivered: Callable[[Delivered], None] | None = None
        self.lock = threading.Lock()
        self._message_ids: Counter[str] = Counter()
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        """What PRESSBOT_TELEGRAM_BASE_URL / Bot(base_url=…) takes: the token is appended."""
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}/bot"

    def fail_next(self, kind: str, times: int = 1) -> None:
        with self.lock:
            self.failures.extend([kind] * times)

    def texts(self, chat: str | None = None) -> list[str]:
        return [d.text for d in self.delivered if chat is None or d.chat == chat]

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hung up (a killed sender) is what some tests do

    def __enter__(self) -> FakeTelegram:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: FakeTelegram
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode("utf-8")
        if "json" in (self.headers.get("Content-Type") or ""):
            params = json.loads(raw or "{}")
        else:
            params = dict(parse_qsl(raw, keep_blank_values=True))
        prefix, _, method = self.path.lstrip("/").partition("/")
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            if prefix != f"bot{self.server.token}":
                return self._error(401, "Unauthorized")
            with self.server.lock:
                self.server.requests.append((method, params))
            if method == "getMe":
                return self._ok(
                    {"id": BOT_ID, "is_bot": True, "first_name": "pressbot", "username": "pressbot_test_bot"}
                )
            if method == "sendMessage":
                return self._send_message(params)
            return self._error(404, "Not Found: method not found")

    do_GET = do_POST

    def _send_message(self, params: dict[str, Any]) -> None:
        server = self.server
        chat = str(params.get("chat_id", ""))
        with server.lock:
            failure = server.failures.pop(0) if server.failures else None
            if failure is None and server.rate_429 and server.random.random() < server.rate_429:
                failure = "429"
        if failure == "hang":
            time.sleep(server.hang_seconds)
            failure = "500"
        if failure == "429":
            return self._error(
                429,
                f"Too Many Requests: retry after {server.retry_after}",
                {"retry_after": server.retry_after},
            )
        if failure == "500":
            return self._error(500, "Internal Server Error")
        if failure == "403" or chat in server.forbidden_chats:
            return self._error(403, "Forbidden: bot was kicked from the channel chat")
        if failure == "400-chat" or chat in server.unknown_chats:
            return self._error(400, "Bad Request: chat not found")
        text = str(params.get("text", ""))
        parse_mode = params.get("parse_mode")
        shown = text
        if parse_mode == "HTML":
            try:
                shown = parse_telegram_html(text)
            except HTMLCheckError as error:
                return self._error(400, f"Bad Request: can't parse entities: {error}")
        if not shown.strip():
            return self._error(400, "Bad Request: message text is empty")
        if utf16_length(shown) > LIMIT:
            return self._error(400, "Bad Request: message is too long")
        preview = params.get("link_preview_options")
        if isinstance(preview, str):
            preview = json.loads(preview)
        with server.lock:
            server._message_ids[chat] += 1
            message_id = server._message_ids[chat]
            delivered = Delivered(chat, message_id, shown, text, parse_mode, preview, time.monotonic())
            server.delivered.append(delivered)
        self._ok(
            {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": _chat(chat),
                "text": shown,
            }
        )
        if server.on_delivered is not None:
            server.on_delivered(delivered)

    def _ok(self, result: Any) -> None:
        self._json(200, {"ok": True, "result": result})

    def _error(self, status: int, description: str, parameters: dict[str, Any] | None = None) -> None:
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if parameters:
            body["parameters"] = parameters
        self._json(status, body)

    def _json(self, status: int, data: Any) -> None:
        body = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _chat(chat: str) -> dict[str, Any]:
    if chat.lstrip("-").isdigit():
        return {"id": int(chat), "type": "channel", "title": f"chat {chat}"}
    return {"id": -1001000000000 - len(chat), "type": "channel", "title": chat, "username": chat.lstrip("@")}
