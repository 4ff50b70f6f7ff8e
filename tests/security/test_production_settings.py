"""Headers every response carries, and no inline script anywhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.urls import reverse

from tests.factories import make_number
from users.services import api_token_create

pytestmark = pytest.mark.django_db
BASE_DIR = Path(__file__).resolve().parents[2]
# Every package's templates: <app>/templates/ (Django) and <app>/jinja2/ (Jinja2).
TEMPLATE_FILES = sorted(
    path
    for pattern in ("*/templates/**/*.html", "*/jinja2/**/*.jinja")
    for path in BASE_DIR.glob(pattern)
    if ".venv" not in path.parts
)


def test_pages_carry_the_security_headers(client, support, owner):
    number = make_number(owner)
    client.force_login(support)
    response = client.get(reverse("numbers:detail", args=[number.pk]))
    csp = response["Content-Security-Policy"]
    script_src = re.search(r"script-src ([^;]+)", csp).group(1)
    assert script_src.strip() == "'self'"  # no unsafe-inline, no unsafe-eval
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "no-store"
    assert response["X-Request-ID"]


def test_the_api_is_not_cached_either(client, owner):
    _, token = api_token_create(user=owner)
    response = client.get("/v1/numbers/list", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response["Cache-Control"] == "no-store"


def test_no_template_has_an_inline_script_or_handler():
    assert len(TEMPLATE_FILES) > 30  # the move into the packages found them all
    for path in TEMPLATE_FILES:
        text = path.read_text()
        for tag in re.findall(r"<script\b[^>]*>", text):
            assert "src=" in tag, f"{path}: inline <script> {tag}"
        assert not re.search(r"\son[a-z]+\s*=", text), f"{path}: inline event handler"
        assert "javascript:" not in text, path


def test_sessions_last_a_working_day(settings):
    assert 8 * 3600 <= settings.SESSION_COOKIE_AGE <= 12 * 3600
