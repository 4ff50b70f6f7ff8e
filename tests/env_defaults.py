"""Test environment defaults, set before pytest-django configures Django.

Loaded as a plugin (``-p tests.env_defaults`` in pyproject.toml) because a
conftest.py is read only after pytest-django has already imported the
settings. Only what the tests must have: a SECRET_KEY (DEBUG is off), a
credential key, plain HTTP and loopback hosts for the test client and live server.
Anything already in the environment (DATABASE_URL for PostgreSQL) wins.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
# The live server, and schemathesis loading the schema at collection time.
os.environ.setdefault("ALLOWED_HOSTS", "localhost,127.0.0.1,testserver")
os.environ.setdefault("CREDENTIAL_KEYS", "dGVzdC1rZXktMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDA=")
# Signing in is one step in tests; tests of the second factor turn it on with
# the ``settings`` fixture (tests/users/test_second_factor.py).
os.environ.setdefault("STAFF_TOTP_REQUIRED", "false")
# The development commands (devtools/) are tested too; DEBUG is off.
os.environ.setdefault("SWITCHBOARD_DEVTOOLS", "true")
# Background jobs run inside the request that starts them, their files in a
# directory of this run's own.
os.environ.setdefault("TASKS_BACKEND", "immediate")
if "MEDIA_ROOT" not in os.environ:
    os.environ["MEDIA_ROOT"] = tempfile.mkdtemp(prefix="switchboard-media-")
    atexit.register(shutil.rmtree, os.environ["MEDIA_ROOT"], ignore_errors=True)
if "JOBS_CACHE_DIR" not in os.environ:
    os.environ["JOBS_CACHE_DIR"] = tempfile.mkdtemp(prefix="switchboard-jobs-cache-")
    atexit.register(shutil.rmtree, os.environ["JOBS_CACHE_DIR"], ignore_errors=True)
