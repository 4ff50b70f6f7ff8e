"""Which management command this process was started for, read from its arguments.

Settings (before Django is set up) and the database timeouts ask it. Plain
Python on purpose: importing it sets nothing up.
"""

from __future__ import annotations

import sys
from pathlib import Path

# The entry points that run management commands: the checkout's manage.py,
# Django's own, and the installed wheel's console script.
ENTRY_POINTS = frozenset({"manage.py", "django-admin", "switchboard"})


def started_as() -> str | None:
    """The management command this process was started to run, or None."""
    if len(sys.argv) > 1 and Path(sys.argv[0]).name in ENTRY_POINTS:
        return sys.argv[1]
    return None
