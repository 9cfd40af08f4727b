"""pressbot — a multilingual (zh/it/en) press-monitoring bot.

Input → output: the outlets in ``sources.yaml`` → a searchable archive in ``storage/``.
"""

__version__ = "0.1.0"
