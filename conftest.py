"""Test environment defaults, set before Django reads its settings.

Only what the tests must have: a SECRET_KEY (DEBUG is off) and a credential
key. Anything already in the environment (DATABASE_URL for PostgreSQL) wins.
"""

from __future__ import annotations

import os

os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production")
# The test client and live server speak plain HTTP.
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("CREDENTIAL_KEYS", "dGVzdC1rZXktMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDA=")
