"""axe-core (axe-playwright-python) on every main page, light and dark: no serious or
critical violations (issue 17)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.browser.console_pages import make_console_data, sign_in, visit

pytestmark = pytest.mark.django_db(transaction=True)
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
BLOCKING = {"serious", "critical"}


def blocking_violations(page) -> list[str]:
    """Each serious or critical violation as "rule (impact): the first nodes"."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): "
        + "; ".join(
            f"{' '.join(node['target'])} {node.get('failureSummary', '')[:160]!r}"
            for node in v["nodes"][:4]
        )
        for v in results.response["violations"]
        if v["impact"] in BLOCKING
    ]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_page_has_serious_or_critical_violations(browser, live_server, scheme):
    pages = make_console_data()
    context = browser.new_context(
        viewport={"width": 1400, "height": 900}, base_url=live_server.url, color_scheme=scheme
    )
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        found = {}
        for target in [p for p in pages if not p.signed_in]:
            visit(page, target)
            found[target.name] = blocking_violations(page)
        sign_in(page)
        for target in [p for p in pages if p.signed_in]:
            visit(page, target)
            found[target.name] = blocking_violations(page)
    finally:
        context.close()
    counts = {name: len(v) for name, v in found.items()}
    ARTIFACTS.mkdir(exist_ok=True)  # the whole list, to read when this fails
    (ARTIFACTS / f"axe-{scheme}.json").write_text(json.dumps(found, indent=2))
    assert not any(found.values()), (counts, {k: v for k, v in found.items() if v})
