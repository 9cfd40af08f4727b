"""Sending the outbox to Telegram with python-telegram-bot (the only module that imports it).

Input → output: the archive's open outbox messages → ``sendMessage`` calls, each message marked
``sending`` before and ``sent`` (with Telegram's message id) right after Telegram's answer. One
task per chat sends that chat's messages in order; a :class:`Pacer` keeps within Telegram's
limits (about 20 messages a minute to one chat, 30 a second in all). ``RetryAfter`` (429) is
waited out; timeouts, connection errors and 5xx are retried with backoff and then left pending
for the next run (later messages of that chat wait too, so parts never arrive out of order);
permanent errors — the bot removed from the channel, the chat not found or moved, a message
Telegram refuses — are recorded on the message and the channel and not retried until
``pressbot outbox retry``. The token never reaches a log line or an error message.
"""

from __future__ import annotations

import asyncio
import logging
import time
import warnings
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Literal, TypeVar

from telegram import Bot, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.request import HTTPXRequest

from pressbot.config import Secret, Settings
from pressbot.errors import ConfigError, PressbotError
from pressbot.store import Archive
from pressbot.store.outbox import OutboxMessage

T = TypeVar("T")
Outcome = Literal["sent", "failed", "stop"]
LOGGERS = ("httpx", "httpcore", "telegram", "telegram.Bot", "telegram.request", "telegram.ext")
# BadRequest descriptions that mean the chat itself is unusable (every message to it would fail)
CHAT_GONE = ("chat not found", "chat_id is empty", "not enough rights", "need administrator rights")


MAX_FLOOD_WAITS = 10  # 429s waited out for one message in one run


class DeliveryError(PressbotError):
    """Telegram cannot be used at all (the token is refused): nothing more is sent this run."""


@dataclass(frozen=True)
class DeliveryOptions:
    chat_interval: float = 3.0  # seconds between two messages to one chat (20 a minute)
    global_interval: float = 1 / 30  # seconds between any two messages (30 a second)
    timeout: float = 20.0  # seconds for one request
    retries: int = 3  # extra tries after a timeout, a connection error or a 5xx, within a run
    backoff: float = 1.0  # first wait before such a retry, doubled each time
    max_retry_after: float = 120.0  # a longer flood wait ends this run for the chat (messages stay)
    max_attempts: int = 20  # attempts across runs before a message is given up as failed

    @classmethod
    def from_settings(cls, settings: Settings) -> DeliveryOptions:
        return cls(
            chat_interval=60.0 / settings.telegram_chat_rate,
            global_interval=1.0 / settings.telegram_rate,
            timeout=settings.timeout,
        )


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0  # messages given up (permanent errors), this run
    pending: int = 0  # still to send after this run (transient errors, long flood waits)
    retries: int = 0  # 429s waited out and transient errors retried
    errors: dict[str, str] = field(default_factory=dict)  # channel id → the last error this run
    sent_ids: list[int] = field(default_factory=list)  # outbox ids, in the order confirmed


class Pacer:
    """Spaces sends: ``chat_interval`` apart within a chat, ``global_interval`` apart overall."""

    def __init__(
        self,
        *,
        chat_interval: float,
        global_interval: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ):
        self.chat_interval = chat_interval
        self.global_interval = global_interval
        self.clock = clock
        self.sleep = sleep
        self._chat_next: dict[str, float] = {}
        self._global_next = 0.0
        self._lock = asyncio.Lock()

    async def wait(self, chat: str) -> None:
        delay = self._chat_next.get(chat, 0.0) - self.clock()
        if delay > 0:
            await self.sleep(delay)
        async with self._lock:
            delay = self._global_next - self.clock()
            if delay > 0:
                await self.sleep(delay)
            self._global_next = self.clock() + self.global_interval
        self._chat_next[chat] = self.clock() + self.chat_interval

    def hold(self, chat: str, seconds: float) -> None:
        """Nothing more to ``chat`` for ``seconds`` (after a 429)."""
        self._chat_next[chat] = max(self._chat_next.get(chat, 0.0), self.clock() + seconds)


class _Redact(logging.Filter):
    def __init__(self, secret: str):
        super().__init__()
        self.secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.secret in message:
            record.msg, record.args = message.replace(self.secret, "<token>"), ()
        return True


class Sender:
    """Delivers what the outbox holds. Use as ``async with Sender(...) as sender``."""

    def __init__(
        self,
        archive: Archive,
        *,
        token: Secret,
        base_url: str,
        options: DeliveryOptions | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        if not token:
            raise ConfigError(
                "PRESSBOT_TELEGRAM_TOKEN is not set — create a bot with @BotFather and put its token in "
                "the environment to post digests (printing them needs no token)."
            )
        self.archive = archive
        self.options = options or DeliveryOptions()
        self.sleep = sleep
        self.now = now
        self.pacer = Pacer(
            chat_interval=self.options.chat_interval,
            global_interval=self.options.global_interval,
            clock=clock,
            sleep=sleep,
        )
        self._token = token
        self._base_url = base_url
        self._filter = _Redact(token.reveal())
        self._bot: Bot | None = None
        self._db_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pressbot-outbox")

    def __repr__(self) -> str:
        return f"Sender(token={self._token!r})"

    @property
    def bot(self) -> Bot:
        if self._bot is None:
            raise RuntimeError("use the Sender as `async with Sender(...) as sender`")
        return self._bot

    async def __aenter__(self) -> Sender:
        for name in LOGGERS:  # before the Bot exists: it logs its URL, token included, when created
            logging.getLogger(name).addFilter(self._filter)
        timeout = self.options.timeout
        request = HTTPXRequest(read_timeout=timeout, write_timeout=timeout, connect_timeout=timeout)
        self._bot = Bot(self._token.reveal(), base_url=self._base_url, request=request)
        try:
            await self._bot.initialize()  # getMe: checks the token once
        except InvalidToken:
            await self._close()
            raise DeliveryError(
                "Telegram refused the bot token (PRESSBOT_TELEGRAM_TOKEN) — copy it again from @BotFather."
            ) from None
        except TelegramError as error:
            await self._close()
            raise DeliveryError(
                f"cannot reach Telegram: {self.redact(str(error))} — nothing was sent."
            ) from None
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._close()

    async def _close(self) -> None:
        try:
            if self._bot is not None:
                await self._bot.shutdown()
        finally:
            self._db_thread.shutdown(wait=True)
            for name in LOGGERS:
                logging.getLogger(name).removeFilter(self._filter)

    def redact(self, text: str) -> str:
        return text.replace(self._token.reveal(), "<token>")

    async def _db(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._db_thread, partial(function, *args, **kwargs))

    # ------------------------------------------------------------------ sending

    async def deliver(self, *, channel_ids: Iterable[str] | None = None) -> DeliveryReport:
        """Send every open message (of these channels), each chat in order; returns what happened."""
        wanted = list(channel_ids) if channel_ids is not None else None
        messages = await self._db(self.archive.open_messages, channel_ids=wanted)
        by_chat: dict[str, list[OutboxMessage]] = defaultdict(list)
        for message in messages:
            by_chat[message.chat].append(message)
        report = DeliveryReport()
        await asyncio.gather(*(self._send_chat(queue, report) for queue in by_chat.values()))
        remaining = await self._db(self.archive.open_messages, channel_ids=wanted)
        report.pending = len(remaining)
        return report

    async def _send_chat(self, queue: list[OutboxMessage], report: DeliveryReport) -> None:
        for message in queue:
            outcome = await self._send(message, report)
            if outcome == "stop":
                return

    async def _send(self, message: OutboxMessage, report: DeliveryReport) -> Outcome:
        if message.attempts >= self.options.max_attempts:
            return await self._fail(
                message,
                report,
                f"gave up after {message.attempts} attempts (last error: {message.error or 'none recorded'})",
            )
        transient = floods = 0
        while True:
            await self.pacer.wait(message.chat)
            await self._db(self.archive.mark_sending, message.id, now=self.now())
            try:
                sent = await self.bot.send_message(
                    chat_id=message.chat,
                    text=message.text,
                    parse_mode=ParseMode.HTML,
                    link_preview_options=LinkPreviewOptions(is_disabled=True),
                )
            except RetryAfter as error:
                wait = _retry_after(error)
                report.retries += 1
                floods += 1
                if wait > self.options.max_retry_after or floods > MAX_FLOOD_WAITS:
                    return await self._later(
                        message, report, f"Telegram asked to wait {wait:.0f}s (flood control)"
                    )
                self.pacer.hold(message.chat, wait)
                continue
            except Forbidden as error:
                return await self._fail(
                    message,
                    report,
                    f"the bot may not post to {message.chat}: {self.redact(error.message)} — add the bot to "
                    "the channel as an administrator, then run `pressbot outbox retry`",
                    whole_chat=True,
                )
            except ChatMigrated as error:
                return await self._fail(
                    message,
                    report,
                    f"the group {message.chat} became a supergroup with id {error.new_chat_id} — set "
                    f'chat: "{error.new_chat_id}" in sources.yaml, then run `pressbot outbox retry`',
                    whole_chat=True,
                )
            except InvalidToken:
                await self._db(self.archive.mark_pending, message.id, error="the bot token was refused")
                raise DeliveryError(
                    "Telegram refused the bot token (PRESSBOT_TELEGRAM_TOKEN) — copy it again from @BotFather."
                ) from None
            except BadRequest as error:
                text = self.redact(error.message)
                if any(marker in text.lower() for marker in CHAT_GONE):
                    return await self._fail(
                        message,
                        report,
                        f"{message.chat}: {text} — check 'chat' in sources.yaml and that the bot is a member, "
                        "then run `pressbot outbox retry`",
                        whole_chat=True,
                    )
                return await self._fail(message, report, f"Telegram refused message {message.id}: {text}")
            except NetworkError as error:  # timeouts, connection errors, 5xx
                text = self.redact(str(error)) or error.__class__.__name__
                transient += 1
                report.retries += 1
                if transient > self.options.retries:
                    return await self._later(message, report, text)
                await self.sleep(self.options.backoff * 2 ** (transient - 1))
                continue
            await self._db(
                self.archive.mark_sent, message, telegram_message_id=sent.message_id, now=self.now()
            )
            report.sent += 1
            report.sent_ids.append(message.id)
            return "sent"

    async def _fail(
        self, message: OutboxMessage, report: DeliveryReport, error: str, *, whole_chat: bool = False
    ) -> Outcome:
        failed = await self._db(
            self.archive.mark_failed, message, error=error, now=self.now(), whole_chat=whole_chat
        )
        report.failed += failed
        report.errors[message.channel_id] = error
        return "stop" if whole_chat else "failed"

    async def _later(self, message: OutboxMessage, report: DeliveryReport, error: str) -> Outcome:
        await self._db(self.archive.mark_pending, message.id, error=error)
        report.errors[message.channel_id] = f"{error} — will be retried on the next run"
        return "stop"


def _retry_after(error: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns that the int will become a timedelta: both are read
        warnings.simplefilter("ignore")
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
