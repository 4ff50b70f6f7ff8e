"""A progress bar for management commands on a terminal (rich), silent elsewhere.

The same work a background job reports to its page (an import, a rebuild) reports
here to the person at the terminal; under cron, in a pipe or in tests the output
stays the plain lines it always was.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def terminal_progress(
    description: str, *, total: int | None, stream: Any = None
) -> Iterator[Callable[[int], bool]]:
    """Yield ``advance(done) -> True`` drawing a bar on ``stream`` (stderr) when it is
    a terminal, and doing nothing otherwise. It never asks the work to stop."""
    stream = stream if stream is not None else sys.stderr
    if not (hasattr(stream, "isatty") and stream.isatty()):
        yield lambda done: True
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    target = getattr(stream, "_out", stream)  # Django's OutputWrapper holds the real file
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(file=target),
        transient=False,
    ) as bar:
        task = bar.add_task(description, total=total)

        def advance(done: int) -> bool:
            bar.update(task, completed=done)
            return True

        yield advance
