"""Write a local .env for the demo, once: a fresh SECRET_KEY and credential key.

Never overwrites an existing .env (its keys encrypt the demo's credentials).
"""

from __future__ import annotations

import base64
import os
import secrets
import sys
from pathlib import Path


def main() -> int:
    path = Path(sys.argv[1] if len(sys.argv) > 1 else ".env")
    if path.exists():
        print(f"{path} exists; keeping it.")
        return 0
    credential_key = base64.urlsafe_b64encode(os.urandom(32)).decode()
    path.write_text(
        "# Local settings for `make demo`; git-ignored. Never commit this file.\n"
        "DEBUG=true\n"
        f"SECRET_KEY={secrets.token_urlsafe(50)}\n"
        f"CREDENTIAL_KEYS={credential_key}\n",
        encoding="utf-8",
    )
    path.chmod(0o600)
    print(f"Wrote {path} with a new SECRET_KEY and credential encryption key.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
