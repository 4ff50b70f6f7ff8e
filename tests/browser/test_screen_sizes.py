"""Every main page at 1280x800, 1920x1080 and on a 390 px phone (issue 17): a
screenshot of each in test-artifacts/ to look at, and what a person would frown at
checked: the page never scrolls sideways (a wide table scrolls in its own box),
the panel leaves the table readable, and no cell wraps letter by letter."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.console_pages import make_console_data, sign_in, visit

pytestmark = pytest.mark.django_db(transaction=True)
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
SIZES = {"1280x800": (1280, 800), "1920x1080": (1920, 1080), "phone-390": (390, 844)}


def page_width(page) -> tuple[int, int]:
    """(the document's scroll width, the viewport's width)."""
    return (
        page.locator("html").evaluate("e => e.scrollWidth"),
        page.viewport_size["width"],
    )


def squeezed_cells(page) -> list[str]:
    """Table cells narrower than their longest word (letter-by-letter wrapping)."""
    return page.locator("table[data-rows] tbody td, table[data-dependents] tbody td").evaluate_all(
        """cells => cells.filter(c => c.offsetParent && c.scrollWidth > c.clientWidth + 1)
                         .map(c => c.textContent.trim().slice(0, 40))"""
    )


@pytest.mark.parametrize("size", list(SIZES))
def test_each_main_page_fits_the_screen(browser, live_server, size):
    pages = make_console_data()
    width, height = SIZES[size]
    context = browser.new_context(
        viewport={"width": width, "height": height}, base_url=live_server.url
    )
    ARTIFACTS.mkdir(exist_ok=True)
    problems: dict[str, object] = {}
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        for target in [p for p in pages if not p.signed_in]:
            visit(page, target)
            page.screenshot(path=ARTIFACTS / f"{size}-{target.name}.png", full_page=True)
        sign_in(page)
        for target in [p for p in pages if p.signed_in]:
            visit(page, target)
            page.screenshot(path=ARTIFACTS / f"{size}-{target.name}.png", full_page=True)
            scroll, view = page_width(page)
            if scroll > view:
                problems[f"{target.name}: scrolls sideways"] = (scroll, view)
            if cells := squeezed_cells(page):
                problems[f"{target.name}: squeezed cells"] = cells[:5]
    finally:
        context.close()
    assert not problems, problems
