#!/usr/bin/env bash
# make wheel-check: the built wheel runs on its own. Builds it, installs it with its
# dependencies into a fresh venv outside the checkout, and from an empty working
# directory runs check --deploy, migrate and collectstatic with production settings,
# then serves /login/ and a static file it links under gunicorn on a free port.
# Usage: scripts/wheel_check.sh PYTHON (the checkout's venv python builds the wheel).
set -euo pipefail
PYTHON=${1:-.venv/bin/python}
cd "$(dirname "$0")/.."
CHECKOUT=$PWD

TMP=$(mktemp -d "${TMPDIR:-/tmp}/switchboard-wheel-check.XXXXXX")
GUNICORN_PID=
cleanup() {
    if [ -n "$GUNICORN_PID" ] && kill -0 "$GUNICORN_PID" 2>/dev/null; then
        kill "$GUNICORN_PID" 2>/dev/null || true
        wait "$GUNICORN_PID" 2>/dev/null || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap "exit 130" INT TERM  # exit, so the EXIT trap cleans up

echo "== wheel-check: building the wheel"
# setuptools never empties build/: a file removed from the tree would still ship.
rm -rf "$CHECKOUT/build"
"$PYTHON" -m pip wheel --quiet --no-deps -w "$TMP/dist" "$CHECKOUT"
rm -rf "$CHECKOUT/build"
WHEEL=$(ls "$TMP"/dist/switchboard-*.whl)

# What the wheel must carry, and what it must not (development tooling, tests).
"$PYTHON" - "$WHEEL" <<'PY'
import sys
import zipfile

names = set(zipfile.ZipFile(sys.argv[1]).namelist())
needed = [
    "config/manage.py",
    "console/templates/base.html",
    "console/templates/error.html",
    "console/templates/registration/login.html",
    "console/jinja2/numbers/_rows.jinja",
    "console/static/css/app.css",
    "console/static/vendor/pico/pico.min.css",
    "agents/templates/admin/agents/delete_with_dependents.html",
]
missing = [name for name in needed if name not in names]
leaked = sorted(n for n in names if n.split("/")[0] in {"devtools", "tests", "templates", "static"})
if missing or leaked:
    sys.exit(f"wheel: missing {missing}, must not ship {leaked}")
print(f"wheel: {len(names)} files, templates and static files included, no devtools")
PY

echo "== wheel-check: installing it into a fresh venv"
"$PYTHON" -m venv "$TMP/venv"
"$TMP/venv/bin/python" -m pip install --quiet --disable-pip-version-check "$WHEEL"

# Production-like settings (as make check-deploy, plus the README's static files).
# Behind a load balancer: the proxy says https (TRUST_X_FORWARDED_PROTO), so the
# requests below send X-Forwarded-Proto and the public host name.
mkdir "$TMP/run"
cd "$TMP/run"
unset DATABASE_URL PYTHONPATH CACHE_URL RATELIMIT_REDIS_URL SWITCHBOARD_DEVTOOLS DJANGO_SETTINGS_MODULE
export DEBUG=false
export SECRET_KEY=$("$TMP/venv/bin/python" -c 'import secrets; print(secrets.token_urlsafe(60))')
export CREDENTIAL_KEYS=$("$TMP/venv/bin/python" -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')
export ALLOWED_HOSTS=switchboard.example.com
export TRUST_X_FORWARDED_PROTO=true
export STATICFILES_BACKEND=whitenoise.storage.CompressedManifestStaticFilesStorage
export WHITENOISE_USE_FINDERS=false
SB="$TMP/venv/bin/switchboard"

# The installed package, not the checkout, is what runs.
"$TMP/venv/bin/python" - "$CHECKOUT" <<'PY'
import sys
from pathlib import Path

import config

where = Path(config.__file__).resolve()
if Path(sys.argv[1]).resolve() in where.parents:
    sys.exit(f"config is imported from the checkout: {where}")
print(f"config from {where.parent}")
PY

echo "== wheel-check: switchboard check --deploy"
"$SB" check --deploy --fail-level WARNING
echo "== wheel-check: switchboard migrate (SQLite in the working directory)"
"$SB" migrate --noinput >/dev/null
test -f "$TMP/run/db.sqlite3" || { echo "no db.sqlite3 in the working directory"; exit 1; }
echo "== wheel-check: switchboard collectstatic"
"$SB" collectstatic --noinput >/dev/null
test -f "$TMP/run/staticfiles/staticfiles.json" || { echo "no manifest in ./staticfiles"; exit 1; }

PORT=$("$TMP/venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
echo "== wheel-check: gunicorn config.wsgi on 127.0.0.1:$PORT"
"$TMP/venv/bin/gunicorn" config.wsgi --workers 1 --bind "127.0.0.1:$PORT" \
    --log-level warning >"$TMP/gunicorn.log" 2>&1 &
GUNICORN_PID=$!

if ! "$TMP/venv/bin/python" - "$PORT" "$GUNICORN_PID" <<'PY'
import os
import re
import sys
import time
import urllib.error
import urllib.request

port, pid = sys.argv[1], int(sys.argv[2])
headers = {"Host": "switchboard.example.com", "X-Forwarded-Proto": "https"}


def get(path):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return response.status, response.read().decode("utf-8", "replace")


deadline = time.monotonic() + 60
while True:
    try:
        status, body = get("/login/")
        break
    except (urllib.error.URLError, ConnectionError):
        if time.monotonic() > deadline:
            sys.exit("gunicorn did not answer within 60 s")
        os.kill(pid, 0)  # gunicorn still running, else ProcessLookupError
        time.sleep(0.3)
assert status == 200, status
assert 'name="password"' in body and "<form" in body, body[:500]
print(f"/login/: {status}, {len(body)} bytes, the sign-in form")
links = re.findall(r'(?:href|src)="(/static/[^"]+)"', body)
css = [link for link in links if link.endswith(".css")]
assert css, f"/login/ links no stylesheet: {links}"
# Manifest storage: hashed names, served by WhiteNoise from STATIC_ROOT.
assert re.search(r"\.[0-9a-f]{12}\.css$", css[0]), css[0]
status, body = get(css[0])
assert status == 200 and body, (css[0], status)
print(f"{css[0]}: {status}, {len(body)} bytes")
PY
then
    echo "== wheel-check FAILED; gunicorn's log:"
    cat "$TMP/gunicorn.log"
    exit 1
fi
echo "== wheel-check: OK"
