"""Django template comments ``{# ... #}`` end on the line they start on; a longer
one is not a comment and its text is rendered into the page (it once was, above
an edited inventory row). Jinja2 templates allow multi-line comments."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.urls import reverse

from tests.factories import make_number

# Every package's Django templates (<app>/templates/; Jinja2's are in <app>/jinja2/).
BASE_DIR = Path(settings.BASE_DIR)
TEMPLATE_FILES = sorted(
    path for path in BASE_DIR.glob("*/templates/**/*.html") if ".venv" not in path.parts
)


def test_the_templates_are_found():
    assert any(path.name == "base.html" for path in TEMPLATE_FILES)


def test_django_template_comments_close_on_their_own_line():
    unclosed = [
        f"{path.relative_to(BASE_DIR)}:{number}"
        for path in TEMPLATE_FILES
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "{#" in line and "#}" not in line[line.index("{#") :]
    ]
    assert not unclosed, f"use {{% comment %}} for multi-line comments: {unclosed}"


def test_an_edited_row_renders_no_template_text(client, number_admin, owner):
    number = make_number(owner, "+13035550111", label="Desk")
    client.force_login(number_admin)
    body = client.get(
        reverse("numbers:edit_label", args=[number.pk]), {"slot": "row"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert 'name="label"' in body
    assert "{#" not in body and "#}" not in body and "{%" not in body


def test_favicon_ico_is_the_consoles_icon(client):
    """Issue 15: /favicon.ico was a 404 on every page that names no icon (the admin)."""
    response = client.get("/favicon.ico")
    assert response.status_code == 302 and "favicon" in response["Location"]
    assert response["Location"].endswith(".svg")
