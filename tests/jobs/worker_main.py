"""``manage.py`` for a worker under test that must stop mid-work, where a test can kill it.

``python -m tests.jobs.worker_main db_worker ...`` is ``manage.py db_worker ...`` with
one test-only hook, installed after ``django.setup()`` and before the command runs:
with ``TEST_WORKER_PAUSE_AFTER_PROGRESS=N``, the Nth progress write of a job
(``jobs.services.job_progress``, however the work reports: a row ``UPDATE`` or, inside
an all-or-nothing transaction, the cache mark) is done, then the process writes its
id to ``TEST_WORKER_PAUSED_FILE`` and sleeps. The work stands still at a known point,
with its transaction open, in whichever process runs it (RQ's forked work horse,
``db_worker`` itself), and that process is the one the file names.

It wraps the real function rather than adding a pause to ``jobs`` itself: production
code carries no test switch, and any job that reports progress (the CSV export, the
import) can be stopped the same way (``tests.jobs.workers.run_worker``).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

PAUSE_AFTER_ENV = "TEST_WORKER_PAUSE_AFTER_PROGRESS"
PAUSED_FILE_ENV = "TEST_WORKER_PAUSED_FILE"
# Long beyond any test's wait: the test kills the process well before.
PAUSE_SECONDS = 600


def install_pause(after: int, paused_file: Path) -> None:
    """Wrap ``job_progress`` everywhere it is bound: ``jobs.services`` (modules that
    import it later get the wrapper) and any module that already imported it."""
    from jobs import services

    original = services.job_progress
    calls = 0

    def job_progress(**kwargs: Any) -> bool:
        nonlocal calls
        answer = original(**kwargs)
        calls += 1
        if calls == after:
            # Written whole, then renamed: the test never reads half an id.
            partial = paused_file.with_suffix(".partial")
            partial.write_text(str(os.getpid()), encoding="utf-8")
            partial.replace(paused_file)
            time.sleep(PAUSE_SECONDS)
        return answer

    for module in list(sys.modules.values()):
        if getattr(module, "job_progress", None) is original:
            module.job_progress = job_progress


def main(argv: list[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # Settings read the command's name from argv (config.settings, KEYLESS_COMMANDS).
    sys.argv = ["manage.py", *argv]
    import django
    from django.core.management import execute_from_command_line

    django.setup()
    if after := os.environ.get(PAUSE_AFTER_ENV):
        install_pause(int(after), Path(os.environ[PAUSED_FILE_ENV]))
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main(sys.argv[1:])
