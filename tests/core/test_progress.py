"""core.progress: a bar on a terminal, nothing anywhere else."""

from __future__ import annotations

import io

from core.progress import terminal_progress


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_pipe_gets_no_bar():
    stream = io.StringIO()
    with terminal_progress("Importing", total=10, stream=stream) as advance:
        assert advance(5) is True
    assert stream.getvalue() == ""


def test_a_terminal_gets_the_bar_with_counts():
    stream = FakeTerminal()
    with terminal_progress("Importing", total=10, stream=stream) as advance:
        advance(10)
    assert "Importing" in stream.getvalue()
    assert "10/10" in stream.getvalue()
