"""The one way a time is shown in the console: UTC, named, in a ``<time>`` element.

The server cannot know the reader's zone, so it renders UTC and says so
("2025-03-01 14:02 UTC"); ``console/static/js/app.js`` rewrites the text into the
browser's zone (naming it). ``datetime`` and ``title`` hold the exact ISO 8601 time
in UTC, so hovering shows it whatever the text says. CSV and the API stay UTC and
do not use this.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.utils.safestring import SafeString


def iso_utc(moment: datetime) -> str:
    """``2025-03-01T14:02:11Z``: the exact time, seconds included."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def utc_text(moment: datetime, *, seconds: bool = False) -> str:
    """``2025-03-01 14:02 UTC`` (``seconds``: ``14:02:11``), the text before JavaScript."""
    fmt = "%Y-%m-%d %H:%M:%S UTC" if seconds else "%Y-%m-%d %H:%M UTC"
    return moment.astimezone(UTC).strftime(fmt)


def time_tag(moment: datetime | None, *, seconds: bool = False) -> SafeString:
    """``<time datetime="…" title="…" data-local>…</time>``; "—" for no time.

    Built from one ``iso_utc`` call with an f-string, not ``format_html``: an
    inventory page shows one per row, and the ISO time holds digits, ``-``, ``:``,
    ``T`` and ``Z`` only, so there is nothing to escape (``utc_text`` is its slice).
    """
    if moment is None:
        return SafeString("—")
    iso = iso_utc(moment)
    text = f"{iso[:10]} {iso[11:19] if seconds else iso[11:16]} UTC"
    flag = " data-seconds" if seconds else ""
    return SafeString(f'<time datetime="{iso}" title="{iso}" data-local{flag}>{text}</time>')
