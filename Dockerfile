# pressbot: collect, archive, translate and post digests — one container, state in a volume.
#
#   docker build -t pressbot .
#   docker run -d --name pressbot -v pressbot-data:/srv/pressbot/storage \
#     -v "$PWD/sources.yaml:/srv/pressbot/sources.yaml:ro" -e PRESSBOT_TELEGRAM_TOKEN=… pressbot
#
# The default command is `pressbot run` (collection, digests, alerts, the bot); `docker stop` sends
# SIGTERM and it stops cleanly. One-off commands work too, e.g.
# `docker exec pressbot pressbot status` or `docker run --rm -v pressbot-data:/srv/pressbot/storage pressbot pressbot fetch`.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PRESSBOT_STORAGE=/srv/pressbot/storage \
    PRESSBOT_SOURCES=/srv/pressbot/sources.yaml

# The package only (no dev extras, no torch: translation runs on CTranslate2). tzdata: the
# time zones of sources and channels, whatever the base image ships.
WORKDIR /build
COPY pyproject.toml README.md ./
COPY pressbot ./pressbot
RUN pip install . tzdata && rm -rf /build

# A non-root user owns the state; the storage folder exists before the VOLUME line so a new
# named volume starts with this ownership.
RUN useradd --system --uid 10001 --user-group --home-dir /srv/pressbot --no-create-home pressbot \
    && mkdir -p /srv/pressbot/storage/models \
    && chown -R pressbot:pressbot /srv/pressbot
COPY --chown=pressbot:pressbot sources.yaml /srv/pressbot/sources.yaml
WORKDIR /srv/pressbot
USER pressbot

# The archive (pressbot.db), translation models (storage/models) and backups live here.
VOLUME ["/srv/pressbot/storage"]

HEALTHCHECK --interval=1m --timeout=30s --start-period=2m --retries=3 \
    CMD ["pressbot", "status", "--healthcheck"]

CMD ["pressbot", "run"]
