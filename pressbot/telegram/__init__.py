"""Telegram: digests built from the archive (``digest``), rendered as Telegram HTML (``render``),
queued in the archive's outbox (``service``) and delivered by python-telegram-bot (``deliver``,
the only module that imports it).
"""
