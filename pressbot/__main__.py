"""``python -m pressbot`` = the ``pressbot`` command."""

from pressbot.cli import main

main()
