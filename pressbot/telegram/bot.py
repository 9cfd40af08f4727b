"""The bot press officers talk to: python-telegram-bot's ``Application`` around ``commands``.

Input → output: Telegram updates (commands, presses of inline buttons) → replies. Handlers are
thin: they check who is asking, parse nothing themselves, run the blocking ``answer_*`` function
in a worker thread (``asyncio.to_thread``: SQLite, translation and drawing never stall the event
loop) and send what it returns. Only configured officers and admins (by user id) and the members
of configured group chats may use it; anybody else gets one polite refusal, then silence. The
token never reaches a log line: a filter rewrites it on every telegram/httpx logger.

``build_application(settings, config, archive, …)`` is the reusable part (``pressbot bot`` and the
long-running service build the bot with it); ``run_bot`` polls until an event is set.
"""

from __future__ import annotations

import asyncio
import html
import itertools
import logging
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from telegram import (
    BotCommand,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import HTTPXRequest

from pressbot.config import Config, Settings
from pressbot.errors import ConfigError, PressbotError
from pressbot.store import Archive
from pressbot.telegram import commands as c
from pressbot.telegram.commands import Reply, UsageError
from pressbot.telegram.reports import answer_coverage, answer_sources, answer_status, parse_coverage
from pressbot.translate.cached import TextTranslator

log = logging.getLogger(__name__)
LOGGER_PREFIXES = ("telegram", "httpx", "httpcore", "apscheduler")
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
REFUSAL = (
    "Sorry — this bot is for the press office only. If you should have access, ask an administrator "
    "to add your Telegram user id, {user}."
)
ADMINS_ONLY = "/{command} is for administrators only."
MAX_SEARCHES = 1000  # remembered for their "more" buttons
Collect = Callable[[], Awaitable[str]]


# ----------------------------------------------------------------------------- who may ask


@dataclass(frozen=True)
class Access:
    officers: frozenset[int] = frozenset()
    admins: frozenset[int] = frozenset()
    chats: frozenset[int] = frozenset()  # group chats whose members may all use the commands

    @classmethod
    def from_settings(cls, settings: Settings) -> Access:
        return cls(
            frozenset(settings.telegram_officers),
            frozenset(settings.telegram_admins),
            frozenset(settings.telegram_chats),
        )

    def allows(self, user_id: int, chat_id: int) -> bool:
        return user_id in self.officers or user_id in self.admins or chat_id in self.chats

    def is_admin(self, user_id: int) -> bool:
        return user_id in self.admins


# ----------------------------------------------------------------------------- the token


class Redact(logging.Filter):
    """Rewrites the token out of a record's message and traceback (before any handler sees it)."""

    def __init__(self, secret: str):
        super().__init__()
        self.secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secret:
            return True
        message = record.getMessage()
        if self.secret in message:
            record.msg, record.args = message.replace(self.secret, "<token>"), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text and self.secret in record.exc_text:
            record.exc_text = record.exc_text.replace(self.secret, "<token>")
        return True


def install_redaction(token: str) -> Callable[[], None]:
    """Put a :class:`Redact` filter on every telegram/httpx/httpcore logger (filters run on the
    logger a record starts from, not its parents); returns the function that removes them."""
    redact = Redact(token)
    names = [
        name
        for name in [*logging.Logger.manager.loggerDict, *LOGGER_PREFIXES]
        if name.split(".")[0] in LOGGER_PREFIXES
    ]
    loggers = [logging.getLogger(name) for name in dict.fromkeys(names)]
    for logger in loggers:
        logger.addFilter(redact)

    def remove() -> None:
        for logger in loggers:
            logger.removeFilter(redact)

    return remove


# ----------------------------------------------------------------------------- the bot


@dataclass
class PressBot:
    """What the handlers share: the archive, sources.yaml, who may ask, the translator."""

    config: Config
    archive: Archive
    access: Access
    token: str
    translator_factory: Callable[[], TextTranslator] | None = None
    collect: Collect | None = None
    status: Callable[[], dict[str, Any]] | None = None  # the running service's jobs (pressbot run)
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    refused: set[int] = field(default_factory=set)
    searches: OrderedDict[int, c.SearchArgs] = field(default_factory=OrderedDict)
    _keys: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _translator: TextTranslator | None = None
    _translator_lock: threading.Lock = field(default_factory=threading.Lock)
    _fetching: asyncio.Lock = field(default_factory=asyncio.Lock)
    unredact: Callable[[], None] = lambda: None  # removes the log filters

    def redact(self, text: str) -> str:
        return text.replace(self.token, "<token>") if self.token else text

    def translator(self) -> TextTranslator:
        """Built on first use, in the worker thread that needs it (it reads the models folder)."""
        with self._translator_lock:
            if self._translator is None:
                if self.translator_factory is None:
                    raise PressbotError("Translation is not available in this bot.")
                self._translator = self.translator_factory()
            return self._translator

    # --------------------------------------------------------------- gatekeeping

    async def guard(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Runs before every handler: strangers get one refusal, then nothing."""
        user, chat = update.effective_user, update.effective_chat
        if user is None or chat is None:  # channel posts, service messages
            raise ApplicationHandlerStop
        if self.access.allows(user.id, chat.id):
            return
        first = user.id not in self.refused
        self.refused.add(user.id)
        log.info("refused user %s in chat %s (%s)", user.id, chat.id, "told" if first else "ignored")
        if first:
            text = html.escape(REFUSAL.format(user=user.id), quote=False)
            if update.callback_query is not None:
                await update.callback_query.answer(REFUSAL.format(user=user.id), show_alert=True)
            else:
                await context.bot.send_message(
                    chat.id, text, parse_mode=ParseMode.HTML, link_preview_options=NO_PREVIEW
                )
        raise ApplicationHandlerStop

    # --------------------------------------------------------------- commands

    def handler(self, name: str) -> Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]:
        spec = c.SPECS[name]

        async def callback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            message, user = update.effective_message, update.effective_user
            if message is None or user is None:
                return
            if spec.admin and not self.access.is_admin(user.id):
                await self.send(context, message.chat_id, Reply((ADMINS_ONLY.format(command=name),)))
                return
            language = c.language_of(user.language_code)
            reply = await self.answer(
                name, list(context.args or []), language=language, context=context, chat=message.chat_id
            )
            if reply is not None:
                await self.send(context, message.chat_id, reply)

        return callback

    async def answer(
        self, name: str, words: list[str], *, language: str, context: ContextTypes.DEFAULT_TYPE, chat: int
    ) -> Reply | None:
        """The reply to one command; errors become one readable line."""
        try:
            return await self._answer(name, words, language=language, context=context, chat=chat)
        except (UsageError, ConfigError, PressbotError) as error:
            return Reply((html.escape(self.redact(str(error)), quote=False),))
        except Exception:
            log.exception("/%s %s failed", name, " ".join(words))
            return Reply(("Something went wrong on our side; the error is in the bot's log.",))

    async def _answer(
        self, name: str, words: list[str], *, language: str, context: ContextTypes.DEFAULT_TYPE, chat: int
    ) -> Reply | None:
        archive, config, now = self.archive, self.config, self.now()
        if name == "help":
            return c.answer_help(admin=False)
        if name == "digest":
            return await asyncio.to_thread(
                c.answer_digest, archive, config, words, language=language, now=now
            )
        if name == "search":
            query = c.parse_search(words)
            reply = await asyncio.to_thread(c.answer_search, archive, config, query, language=language)
            await self.send(context, chat, reply, keyboard=self.pages(query, reply))
            return None
        if name == "latest":
            count = c.parse_count(words)
            return await asyncio.to_thread(
                c.answer_latest, archive, config, count, language=language, now=now
            )
        if name == "story":
            story_id = c.parse_id(words, "story")
            return await asyncio.to_thread(c.answer_story, archive, config, story_id, language=language)
        if name == "translate":
            article_id, target = c.parse_translate(words, language=language)

            def translate() -> Reply:
                return c.answer_translate(archive, self.translator(), article_id, target=target, now=now)

            return await asyncio.to_thread(translate)
        if name == "coverage":
            topic_id, period = parse_coverage(words, config)
            return await asyncio.to_thread(
                answer_coverage, archive, config, topic_id, period=period, language=language, now=now
            )
        if name == "sources":
            return await asyncio.to_thread(answer_sources, archive, config, now=now)
        if name == "fetch":
            return await self.fetch(context, chat)
        if name == "status":
            service = self.status() if self.status is not None else None
            return await asyncio.to_thread(answer_status, archive, config, service, now=now)
        raise AssertionError(name)

    async def help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message, user = update.effective_message, update.effective_user
        if message is not None and user is not None:
            await self.send(context, message.chat_id, c.answer_help(admin=self.access.is_admin(user.id)))

    async def unknown(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is not None and message.chat.type == "private":
            word = (message.text or "").split()[0] if (message.text or "").startswith("/") else ""
            text = f"I don't know {word} — /help lists the commands." if word else "/help lists the commands."
            await self.send(context, message.chat_id, Reply((html.escape(text, quote=False),)))

    async def fetch(self, context: ContextTypes.DEFAULT_TYPE, chat: int) -> Reply:
        if self.collect is None:
            return Reply(("Manual collection is not available in this bot process.",))
        if self._fetching.locked():
            return Reply(("A collection cycle is already running — its summary will follow.",))
        async with self._fetching:
            await self.send(context, chat, Reply(("Collecting every enabled source now…",)))
            summary = await self.collect()
        return Reply((html.escape(summary, quote=False),))

    # --------------------------------------------------------------- search pages

    def pages(self, query: c.SearchArgs, reply: Reply) -> InlineKeyboardMarkup | None:
        """Buttons under a search page: back (from page 2) and more (when there is a next page)."""
        if reply.next_page is None and query.page == 1:
            return None
        first_page = c.SearchArgs(query.words, query.language)
        key = next((k for k, v in self.searches.items() if v == first_page), None)
        if key is None:
            key = next(self._keys)
            self.searches[key] = first_page
            while len(self.searches) > MAX_SEARCHES:
                self.searches.popitem(last=False)
        buttons = []
        if query.page > 1:
            buttons.append(InlineKeyboardButton("‹ Back", callback_data=f"search:{key}:{query.page - 1}"))
        if reply.next_page is not None:
            buttons.append(InlineKeyboardButton("More ›", callback_data=f"search:{key}:{reply.next_page}"))
        return InlineKeyboardMarkup([buttons])

    async def button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query, user = update.callback_query, update.effective_user
        if query is None or user is None:
            return
        kind, _, rest = (query.data or "").partition(":")
        key, _, page = rest.partition(":")
        search = self.searches.get(int(key)) if kind == "search" and key.isdigit() else None
        if search is None or not page.isdigit():
            await query.answer("This search has expired — send /search again.", show_alert=True)
            return
        await query.answer()
        args = c.SearchArgs(search.words, search.language, int(page))
        language = c.language_of(user.language_code)
        reply = await self.answer_or_error(args, language)
        message = query.message
        if message is None:
            return
        await context.bot.edit_message_text(
            reply.messages[0],
            chat_id=message.chat.id,
            message_id=message.message_id,
            parse_mode=ParseMode.HTML,
            link_preview_options=NO_PREVIEW,
            reply_markup=self.pages(args, reply),
        )

    async def answer_or_error(self, args: c.SearchArgs, language: str) -> Reply:
        try:
            return await asyncio.to_thread(
                c.answer_search, self.archive, self.config, args, language=language
            )
        except PressbotError as error:
            return Reply((html.escape(str(error), quote=False),))

    # --------------------------------------------------------------- sending

    async def send(
        self,
        context: ContextTypes.DEFAULT_TYPE,
        chat: int,
        reply: Reply,
        *,
        keyboard: InlineKeyboardMarkup | None = None,
    ) -> None:
        bot = context.bot
        if reply.photo is not None:
            await bot.send_photo(
                chat,
                photo=reply.photo,
                caption=reply.caption,
                parse_mode=ParseMode.HTML,
                filename="coverage.png",
            )
        for index, text in enumerate(reply.messages, start=1):
            await bot.send_message(
                chat,
                text,
                parse_mode=ParseMode.HTML,
                link_preview_options=NO_PREVIEW,
                reply_markup=keyboard if index == len(reply.messages) else None,
            )

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        error = context.error
        log.error("while handling an update: %s", self.redact(f"{type(error).__name__}: {error}"))

    # --------------------------------------------------------------- start-up

    async def publish_commands(self, application: Application[Any, Any, Any, Any, Any, Any]) -> None:
        """setMyCommands: everybody's commands for all, the admin commands too in admins' chats."""
        everyone = [BotCommand(s.name, s.description) for s in c.COMMANDS if not s.admin]
        admins = [BotCommand(s.name, s.description) for s in c.COMMANDS]
        await application.bot.set_my_commands(everyone, scope=BotCommandScopeDefault())
        for admin in sorted(self.access.admins):
            try:
                await application.bot.set_my_commands(admins, scope=BotCommandScopeChat(admin))
            except TelegramError as error:  # the admin has not started a chat with the bot yet
                log.warning("admin %s: commands not set (%s)", admin, self.redact(str(error)))


def build_application(
    settings: Settings,
    config: Config,
    archive: Archive,
    *,
    translator: Callable[[], TextTranslator] | None = None,
    collect: Collect | None = None,
    status: Callable[[], dict[str, Any]] | None = None,
    now: Callable[[], datetime] | None = None,
) -> Application[Any, Any, Any, Any, Any, Any]:
    """The bot, ready for ``run_bot`` (or for a caller that runs it its own way).

    ``translator`` builds the translator on first /translate; ``collect`` runs a collection cycle
    for /fetch and returns its summary (None: /fetch says it is not available here).
    """
    token = settings.telegram_token.reveal()
    if not token:
        raise ConfigError(
            "PRESSBOT_TELEGRAM_TOKEN is not set — create a bot with @BotFather and put its token in the "
            "environment to run the bot."
        )
    unredact = install_redaction(token)  # before the Bot exists: creating it logs its URL
    timeout = settings.timeout
    application = (
        ApplicationBuilder()
        .token(token)
        .base_url(settings.telegram_base_url)
        .request(HTTPXRequest(connect_timeout=timeout, read_timeout=timeout, write_timeout=timeout))
        .get_updates_request(HTTPXRequest(connect_timeout=timeout, read_timeout=timeout))
        .concurrent_updates(8)  # a long /translate must not hold up everybody's /search
        .build()
    )
    bot = PressBot(
        config=config,
        archive=archive,
        access=Access.from_settings(settings),
        token=token,
        translator_factory=translator,
        collect=collect,
        status=status,
        now=now or (lambda: datetime.now(UTC)),
        unredact=unredact,
    )
    application.bot_data["pressbot"] = bot
    application.add_handler(TypeHandler(Update, bot.guard), group=-1)
    for spec in c.COMMANDS:
        callback = bot.help if spec.name == "help" else bot.handler(spec.name)
        application.add_handler(CommandHandler(spec.name, callback))
    application.add_handler(CommandHandler("start", bot.help))
    application.add_handler(CallbackQueryHandler(bot.button))
    application.add_handler(MessageHandler(filters.ChatType.PRIVATE, bot.unknown))
    application.add_error_handler(bot.on_error)
    return application


async def run_bot(
    application: Application[Any, Any, Any, Any, Any, Any],
    *,
    stop: asyncio.Event,
    poll_timeout: float = 10.0,
    background: Sequence[Callable[[], Coroutine[Any, Any, None]]] = (),
) -> None:
    """Poll Telegram and answer until ``stop`` is set; ``background`` coroutines (e.g. sending the
    outbox) run alongside and are cancelled at the end."""
    bot: PressBot = application.bot_data["pressbot"]
    remove = install_redaction(bot.token)  # loggers created since build_application too
    try:
        async with application:  # initialize (getMe) … shutdown
            await bot.publish_commands(application)
            await application.start()
            assert application.updater is not None
            await application.updater.start_polling(
                timeout=int(poll_timeout), allowed_updates=["message", "callback_query"]
            )
            tasks = [asyncio.create_task(job()) for job in background]
            try:
                await stop.wait()
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                await application.updater.stop()
                await application.stop()
    finally:
        remove()
        bot.unredact()
