"""One log record is one line: control characters in it are escaped.

A log line carries what clients send (a request path, a parameter name). A
newline in it, ``%0a`` in a URL, would start a second line that a reader or a
log shipper takes for a record of its own: a forged entry. ``EscapingFormatter``
writes every control character of the formatted line as a visible escape
(``\\n``, ``\\x1b``, ``\\u2028``), so a record never spans or hides lines.

Escaped: C0 controls (tab, CR and LF included), DEL, C1 controls, the Unicode
line and paragraph separators, and lone UTF-16 surrogates (not encodable as
UTF-8: the handler would fail on them and lose the record). A traceback stays
multi-line, but each exception's message inside it is escaped the same way.
"""

from __future__ import annotations

import logging
import re
import traceback
from types import TracebackType

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}

_ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]


def _escape_one(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_controls(text: str) -> str:
    """``text`` with every control character written as a visible escape."""
    return _CONTROL.sub(_escape_one, text)


# The lines Python's own traceback prints between chained exceptions.
_CAUSE = "\nThe above exception was the direct cause of the following exception:\n\n"
_CONTEXT = "\nDuring handling of the above exception, another exception occurred:\n\n"


def _chain(exc: BaseException) -> list[tuple[BaseException, str | None]]:
    """The exception and its causes, oldest first, each with the line printed after it."""
    chain: list[tuple[BaseException, str | None]] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    joint: str | None = None
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append((current, joint))
        if current.__cause__ is not None:
            current, joint = current.__cause__, _CAUSE
        elif current.__context__ is not None and not current.__suppress_context__:
            current, joint = current.__context__, _CONTEXT
        else:
            current = None
    return chain[::-1]


class EscapingFormatter(logging.Formatter):
    """``logging.Formatter`` whose records cannot forge or hide log lines."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        return escape_controls(super().formatMessage(record))

    def formatException(self, ei: _ExcInfo) -> str:
        """The usual traceback, with each exception's message and notes escaped."""
        if ei[1] is None:  # exc_info=True outside an except block
            return super().formatException(ei)
        if isinstance(ei[1], BaseExceptionGroup):
            # Rare here, and its nested layout is not worth re-implementing:
            # every control but the line breaks Python's layout itself uses.
            text = super().formatException(ei)
            return "\n".join(escape_controls(line) for line in text.split("\n"))
        lines: list[str] = []
        for exc, joint in _chain(ei[1]):
            te = traceback.TracebackException(type(exc), exc, exc.__traceback__, compact=True)
            if te.stack:
                lines.append("Traceback (most recent call last):\n")
                lines.extend(te.stack.format())
            lines.extend(
                escape_controls(line.removesuffix("\n")) + "\n"
                for line in te.format_exception_only()
            )
            if joint is not None:
                lines.append(joint)
        return "".join(lines).removesuffix("\n")
