"""JOBS_STORAGE=s3 points Django's default storage at django-storages' S3 backend."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]


def _storages(**env: str) -> dict:
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        "print(json.dumps(settings.STORAGES['default']))"
    )
    result = subprocess.run(  # noqa: S603 - this interpreter, fixed code
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_filesystem_is_the_default():
    assert _storages()["BACKEND"] == "django.core.files.storage.FileSystemStorage"


def test_s3_is_private_and_takes_its_bucket_and_endpoint():
    default = _storages(
        JOBS_STORAGE="s3", JOBS_S3_BUCKET="sb-jobs", JOBS_S3_ENDPOINT_URL="http://minio:9000"
    )
    assert default["BACKEND"] == "storages.backends.s3.S3Storage"
    options = default["OPTIONS"]
    assert (options["bucket_name"], options["endpoint_url"]) == ("sb-jobs", "http://minio:9000")
    assert options["default_acl"] == "private" and options["file_overwrite"] is False
