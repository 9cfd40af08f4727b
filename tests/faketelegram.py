"""A fake Telegram Bot API server on 127.0.0.1: real HTTP, for python-telegram-bot's ``base_url``.

``FakeTelegram(token)`` serves ``POST /bot<token>/<method>`` (form-encoded, JSON or multipart, as
the Bot API accepts): ``getMe``, ``sendMessage``, ``sendPhoto``, ``editMessageText``,
``getUpdates`` (long polling), ``deleteWebhook``, ``setMyCommands``, ``answerCallbackQuery``.
``sendMessage`` and ``editMessageText`` check what Telegram checks — parse ``parse_mode=HTML``
(only Telegram's tags, well nested, known entities) and the 4096 limit on the text after entity
parsing, counted in UTF-16 code units — and answer a proper ``Message``; captions get the same
checks with Telegram's 1024 limit.

What it was sent: ``requests`` (every call, failed or not), ``delivered`` (messages it accepted,
each with the chat, the message id it gave, the text as shown and the raw HTML), ``photos``
(``sendPhoto``: the bytes and the caption), ``edits`` (``editMessageText``), ``commands`` (the last
``setMyCommands`` list of each scope) and ``answered`` (callback query ids answered).

Users talking to the bot: ``send_command(user, "/search shenzhen", chat=…)`` and
``press_button(user, message, data)`` queue updates that the bot's ``getUpdates`` receives;
``wait_for(predicate)`` waits until what the server recorded satisfies a condition.

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
import email.parser
import email.policy
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
CAPTION_LIMIT = 1024
BOT_ID = 777000
BOT_USER = {"id": BOT_ID, "is_bot": True, "first_name": "pressbot", "username": "pressbot_test_bot"}


@dataclass(frozen=True)
class Delivered:
    chat: str
    message_id: int
    text: str  # as shown (entities parsed)
    html: str
    parse_mode: str | None
    link_preview_options: dict[str, Any] | None
    at: float


@dataclass(frozen=True)
class Photo:
    chat: str
    message_id: int
    data: bytes
    caption: str  # as shown
    filename: str


@dataclass(frozen=True)
class Edit:
    chat: str
    message_id: int
    text: str  # as shown
    html: str
    reply_markup: dict[str, Any] | None


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
        self.photos: list[Photo] = []
        self.edits: list[Edit] = []
        self.commands: dict[str, list[dict[str, str]]] = {}  # scope ("default", "chat:42") → commands
        self.answered: list[str] = []
        self.markups: dict[tuple[str, int], dict[str, Any] | None] = {}  # (chat, message id) → keyboard
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)  # notified whenever something is recorded
        self.updates: list[dict[str, Any]] = []  # queued for getUpdates
        self._update_id = 0
        self._closing = False
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

    def methods(self) -> list[str]:
        return [method for method, _ in self.requests]

    # ------------------------------------------------------------------ users talking to the bot

    def send_command(
        self,
        user: int,
        text: str,
        *,
        chat: int | None = None,
        chat_type: str = "private",
        language: str = "en",
    ) -> int:
        """Queue a message from ``user`` (in a private chat with the bot unless ``chat`` is given);
        a leading /command gets its bot_command entity, as Telegram sends it. Returns the chat id."""
        chat_id = user if chat is None else chat
        entities = []
        if text.startswith("/"):
            command = text.split()[0]
            entities.append({"type": "bot_command", "offset": 0, "length": utf16_length(command)})
        sender = {"id": user, "is_bot": False, "first_name": f"user{user}", "language_code": language}
        chat_obj: dict[str, Any] = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            chat_obj["first_name"] = sender["first_name"]
        else:
            chat_obj["title"] = f"group {chat_id}"
        with self.lock:
            self._message_ids[str(chat_id)] += 1
            message = {
                "message_id": self._message_ids[str(chat_id)],
                "date": int(time.time()),
                "chat": chat_obj,
                "from": sender,
                "text": text,
                "entities": entities,
            }
            self._queue({"message": message})
        return chat_id

    def press_button(self, user: int, message: Delivered, data: str) -> None:
        """Queue a callback query: ``user`` pressed the inline button ``data`` under ``message``."""
        chat = int(message.chat)
        sender = {"id": user, "is_bot": False, "first_name": f"user{user}", "language_code": "en"}
        with self.lock:
            self._queue(
                {
                    "callback_query": {
                        "id": f"cq{self._update_id + 1}",
                        "from": sender,
                        "chat_instance": str(chat),
                        "data": data,
                        "message": {
                            "message_id": message.message_id,
                            "date": int(time.time()),
                            "chat": {"id": chat, "type": "private", "first_name": sender["first_name"]},
                            "from": BOT_USER,
                            "text": message.text,
                        },
                    }
                }
            )

    def _queue(self, update: dict[str, Any]) -> None:  # (with the lock held)
        self._update_id += 1
        self.updates.append({"update_id": self._update_id, **update})
        self.changed.notify_all()

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Wait until ``predicate()`` (called with the lock held) is true; returns its value."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while not (value := predicate()):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"the fake Bot API server saw no such thing in {timeout}s")
                self.changed.wait(left)
        return value

    def replies(self, chat: int | str) -> list[Delivered]:
        with self.lock:
            return [d for d in self.delivered if d.chat == str(chat)]

    def wait_replies(self, chat: int | str, count: int = 1, timeout: float = 10.0) -> list[Delivered]:
        """Wait for at least ``count`` messages to ``chat`` and return them all."""
        self.wait_for(lambda: len([d for d in self.delivered if d.chat == str(chat)]) >= count, timeout)
        return self.replies(chat)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hung up (a killed sender) is what some tests do

    def __enter__(self) -> FakeTelegram:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with self.changed:
            self._closing = True
            self.changed.notify_all()  # long polls return at once
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: FakeTelegram
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        content_type = self.headers.get("Content-Type") or ""
        if "multipart/form-data" in content_type:
            params = _multipart(content_type, body)
        elif "json" in content_type:
            params = json.loads(body.decode("utf-8") or "{}")
        else:
            params = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        prefix, _, method = self.path.lstrip("/").partition("/")
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            if prefix != f"bot{self.server.token}":
                return self._error(401, "Unauthorized")
            with self.server.changed:
                self.server.requests.append((method, params))
                self.server.changed.notify_all()
            if method == "getMe":
                return self._ok(BOT_USER)
            if method == "sendMessage":
                return self._send_message(params)
            if method == "getUpdates":
                return self._get_updates(params)
            if method == "sendPhoto":
                return self._send_photo(params)
            if method == "editMessageText":
                return self._edit_message_text(params)
            if method == "setMyCommands":
                commands = params.get("commands", "[]")
                scope = params.get("scope") or '{"type": "default"}'
                scope = json.loads(scope) if isinstance(scope, str) else scope
                key = scope["type"] + (f":{scope['chat_id']}" if "chat_id" in scope else "")
                with self.server.changed:
                    self.server.commands[key] = (
                        json.loads(commands) if isinstance(commands, str) else commands
                    )
                return self._ok(True)
            if method == "answerCallbackQuery":
                with self.server.changed:
                    self.server.answered.append(str(params.get("callback_query_id")))
                    self.server.changed.notify_all()
                return self._ok(True)
            if method in ("deleteWebhook", "sendChatAction"):
                return self._ok(True)
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
        markup = params.get("reply_markup")
        if isinstance(markup, str):
            markup = json.loads(markup)
        with server.changed:
            server._message_ids[chat] += 1
            message_id = server._message_ids[chat]
            delivered = Delivered(chat, message_id, shown, text, parse_mode, preview, time.monotonic())
            server.delivered.append(delivered)
            server.markups[(chat, message_id)] = markup
            server.changed.notify_all()
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

    def _get_updates(self, params: dict[str, Any]) -> None:
        server = self.server
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)
        deadline = time.monotonic() + min(timeout, 30.0)
        with server.changed:
            server.updates = [u for u in server.updates if u["update_id"] >= offset]  # confirmed: gone
            while not server.updates and not server._closing:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                server.changed.wait(left)
            updates = list(server.updates)
        self._ok(updates)

    def _check_text(self, text: str, parse_mode: Any, limit: int) -> str:
        """The text as Telegram shows it, or HTMLCheckError/ValueError with Telegram's description."""
        shown = parse_telegram_html(text) if parse_mode == "HTML" else text
        if utf16_length(shown) > limit:
            raise ValueError("message is too long" if limit == LIMIT else "message caption is too long")
        return shown

    def _send_photo(self, params: dict[str, Any]) -> None:
        server = self.server
        chat = str(params.get("chat_id", ""))
        photo = params.get("photo")
        if not isinstance(photo, tuple):
            return self._error(400, "Bad Request: there is no photo in the request")
        filename, data = photo
        try:
            caption = self._check_text(
                str(params.get("caption", "")), params.get("parse_mode"), CAPTION_LIMIT
            )
        except ValueError as error:
            return self._error(400, f"Bad Request: can't parse entities: {error}")
        with server.changed:
            server._message_ids[chat] += 1
            message_id = server._message_ids[chat]
            server.photos.append(Photo(chat, message_id, data, caption, filename))
            server.changed.notify_all()
        self._ok(
            {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": _chat(chat),
                "photo": [
                    {
                        "file_id": f"photo{message_id}",
                        "file_unique_id": f"u{message_id}",
                        "width": 1,
                        "height": 1,
                    }
                ],
                "caption": caption,
            }
        )

    def _edit_message_text(self, params: dict[str, Any]) -> None:
        server = self.server
        chat = str(params.get("chat_id", ""))
        message_id = int(params.get("message_id") or 0)
        text = str(params.get("text", ""))
        try:
            shown = self._check_text(text, params.get("parse_mode"), LIMIT)
        except ValueError as error:
            return self._error(400, f"Bad Request: can't parse entities: {error}")
        markup = params.get("reply_markup")
        if isinstance(markup, str):
            markup = json.loads(markup)
        with server.changed:
            if not any(d.chat == chat and d.message_id == message_id for d in server.delivered):
                return self._error(400, "Bad Request: message to edit not found")
            server.edits.append(Edit(chat, message_id, shown, text, markup))
            server.markups[(chat, message_id)] = markup
            server.changed.notify_all()
        self._ok({"message_id": message_id, "date": int(time.time()), "chat": _chat(chat), "text": shown})

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


def _multipart(content_type: str, body: bytes) -> dict[str, Any]:
    """multipart/form-data → fields as text, files as (filename, bytes)."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    params: dict[str, Any] = {}
    for part in message.iter_parts():  # type: ignore[attr-defined]
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        params[name] = (filename, payload) if filename else payload.decode("utf-8")
    return params


def _chat(chat: str) -> dict[str, Any]:
    if chat.isdigit():  # a user's private chat with the bot
        return {"id": int(chat), "type": "private", "first_name": f"user{chat}"}
    if chat.lstrip("-").isdigit():
        return {"id": int(chat), "type": "channel", "title": f"chat {chat}"}
    return {"id": -1001000000000 - len(chat), "type": "channel", "title": chat, "username": chat.lstrip("@")}
