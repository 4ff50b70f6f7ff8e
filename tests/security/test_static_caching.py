"""Hashed static files are cached for good; pages are never stored (NoStoreMiddleware).

As in production: collectstatic with the manifest storage into a fresh
STATIC_ROOT, WhiteNoise serving that directory only (no finders).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client

pytestmark = pytest.mark.django_db
PRODUCTION_STORAGE = "whitenoise.storage.CompressedManifestStaticFilesStorage"
# WhiteNoise's answer for a name with a content hash: its FOREVER, ten years.
IMMUTABLE = "max-age=315360000, public, immutable"


@pytest.fixture
def collected(settings, tmp_path: Path) -> Client:
    settings.STATIC_ROOT = tmp_path / "staticfiles"
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": PRODUCTION_STORAGE}}
    settings.WHITENOISE_USE_FINDERS = False
    # The admin's and Swagger UI's files take seconds to hash and compress and
    # prove nothing more than our own.
    skip = ["admin", "drf_spectacular_sidecar", "rest_framework"]
    call_command("collectstatic", "--noinput", verbosity=0, ignore_patterns=skip)
    return Client()  # a new handler: WhiteNoise reads STATIC_ROOT when it starts


def linked_stylesheet(client: Client) -> str:
    page = client.get("/login/")
    return re.search(r'href="(/static/css/app\.[0-9a-f]{12}\.css)"', page.content.decode())[1]


def test_a_hashed_static_file_is_cached_for_good(collected):
    response = collected.get(linked_stylesheet(collected))
    assert response.status_code == 200
    assert response["Cache-Control"] == IMMUTABLE
    assert int(re.search(r"max-age=(\d+)", IMMUTABLE)[1]) >= 365 * 24 * 3600


def test_the_page_that_links_it_is_not_stored(collected):
    page = collected.get("/login/")
    assert page.status_code == 200 and page["Cache-Control"] == "no-store"


def test_an_unhashed_static_name_is_cached_only_briefly(collected):
    response = collected.get("/static/css/app.css")
    assert response.status_code == 200 and response["Cache-Control"] == "max-age=60, public"


def test_a_missing_static_file_is_a_page_and_not_stored(collected):
    response = collected.get("/static/css/missing.0123456789ab.css")
    assert response.status_code == 404 and response["Cache-Control"] == "no-store"
