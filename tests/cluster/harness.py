"""The running cluster (``scripts/cluster.py``) as the ``cluster`` tests see it.

Everything goes to the cluster's own servers: HTTP to app servers A (``app1``), B
(``app2``) and the balancer; SQL straight to its primary or its standby (psycopg);
Redis commands to its Redis; fixtures made by ``manage.py shell`` run with the app
servers' environment, so they land in the cluster's database, never in pytest's. The
cluster's parts are stopped and started with ``scripts/cluster.py stop|start``.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import psycopg
import pytest
import redis
import requests

BASE_DIR = Path(__file__).resolve().parents[2]
CLUSTER_SCRIPT = BASE_DIR / "scripts" / "cluster.py"
ENV_VARIABLE = "SWITCHBOARD_CLUSTER"
# An HTTP request's bound: a request that hangs is a failure, not a stuck CI job.
HTTP_TIMEOUT = 30
ROUTING_HEADER = "X-Read-Database"

T = TypeVar("T")


def wait_for(what: str, check: Callable[[], T | None], timeout: float = 30.0) -> T:
    """``check()``'s first true answer, polled; a test failure naming ``what`` after
    ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        last = check()
        if last:
            return last
        if time.monotonic() >= deadline:
            pytest.fail(f"{what}: not within {timeout:.0f} s", pytrace=False)
        time.sleep(0.2)


@dataclass
class Cluster:
    """The cluster described by ``cluster.json`` (written by ``scripts/cluster.py up``)."""

    state: dict[str, Any]

    @classmethod
    def load(cls, path: Path) -> Cluster:
        return cls(json.loads(path.read_text()))

    @property
    def a(self) -> str:
        return self.state["urls"]["app1"]

    @property
    def b(self) -> str:
        return self.state["urls"]["app2"]

    @property
    def balancer(self) -> str:
        return self.state["urls"]["balancer"]

    def env(self) -> dict[str, str]:
        """The app servers' environment (what ``scripts/cluster.py env`` prints)."""
        env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TZ") if k in os.environ}
        env.update(self.state["env"])
        if not self.state.get("replicas", True):
            env.pop("DATABASE_REPLICA_URLS", None)
        return env

    def ctl(self, *args: str, timeout: float = 180) -> str:
        """``scripts/cluster.py ARGS`` on this cluster; its output. A failure fails the test."""
        done = subprocess.run(  # noqa: S603 - our own script, fixed arguments
            [sys.executable, str(CLUSTER_SCRIPT), *args],
            cwd=BASE_DIR,
            env={**os.environ, "CLUSTER_DIR": self.state["dir"]},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            pytest.fail(
                f"scripts/cluster.py {' '.join(args)} exited {done.returncode}:\n"
                f"{done.stdout}{done.stderr}",
                pytrace=False,
            )
        return done.stdout

    def manage_json(self, code: str, **params: Any) -> Any:
        """Run ``code`` in ``manage.py shell`` on the cluster's database (the app
        servers' environment); ``params`` arrive as the dict ``PARAMS``, and the code
        prints its answer as JSON on its last line."""
        prelude = "import json, os\nPARAMS = json.loads(os.environ['CLUSTER_TEST_PARAMS'])\n"
        done = subprocess.run(  # noqa: S603 - our own manage.py, fixed arguments
            [sys.executable, "manage.py", "shell", "--no-imports", "-c", prelude + code],
            cwd=BASE_DIR,
            env={**self.env(), "CLUSTER_TEST_PARAMS": json.dumps(params)},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            pytest.fail(f"manage.py shell failed:\n{done.stdout}\n{done.stderr}", pytrace=False)
        return json.loads(done.stdout.strip().splitlines()[-1])

    def sql(self, part: str, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """The rows of ``query`` on the cluster's ``primary`` or ``replica`` (its database)."""
        with psycopg.connect(self.state["urls"][part], autocommit=True, connect_timeout=3) as conn:
            cursor = conn.execute(query, params)
            return cursor.fetchall() if cursor.description else []

    def redis(self, db: int = 0) -> redis.Redis:
        return redis.Redis(
            port=self.state["ports"]["redis"], db=db, socket_connect_timeout=2, socket_timeout=5
        )


# Fixtures in the cluster's database ----------------------------------------------------------

SEED = """
from core.dbtimeouts import long_running
from phone_numbers import upkeep
from phone_numbers.models import PhoneNumber
from users.management.commands.setup_roles import ensure_roles
from users.models import User
from users.services import api_token_create

roles = ensure_roles()
tag = PARAMS["tag"]
answer = {"staff": {}, "tokens": [], "numbers": []}
for role, group in (("admin", "Number admins"), ("support", "Support")):
    email = f"{role}-{tag}@cluster.test"
    User.objects.create_user(email, PARAMS["password"], is_staff=True).groups.add(roles[group])
    answer["staff"][role] = email
owner = User.objects.create_user(f"owner-{tag}@cluster.test")
answer["owner"] = owner.email
with long_running():
    made = PhoneNumber.objects.bulk_create(
        PhoneNumber(user=owner, number=number, telephony_provider="twilio", label=PARAMS["label"])
        for number in PARAMS["numbers"]
    )
    upkeep.rebuild()
answer["numbers"] = [{"id": str(n.pk), "number": n.number} for n in made]
for i in range(PARAMS["tokens"]):
    api_token, token = api_token_create(user=owner, name=f"cluster test {i}")
    answer["tokens"].append({"prefix": api_token.prefix, "token": token})
print(json.dumps(answer))
"""

NEW_TOKEN = """
from users.models import User
from users.services import api_token_create

api_token, token = api_token_create(
    user=User.objects.get(email=PARAMS["owner"]), name="cluster test"
)
print(json.dumps({"prefix": api_token.prefix, "token": token}))
"""


@dataclass
class World:
    """One test's people and numbers, made in the cluster's database."""

    tag: str
    password: str
    admin: str  # a number admin's email (edits labels, imports)
    support: str  # a support member's email (reads everything)
    owner: str  # the customer whose numbers these are
    numbers: list[dict[str, str]]
    tokens: list[dict[str, str]] = field(default_factory=list)

    @property
    def number(self) -> dict[str, str]:
        return self.numbers[0]


def make_world(cluster: Cluster, *, numbers: int = 20, tokens: int = 2, label: str = "") -> World:
    """Two staff members (a number admin, support), a customer with ``numbers``
    numbers labelled ``label`` and ``tokens`` API tokens of theirs. Numbers start at a
    random point, so a run against a long-lived ``make cluster`` does not collide."""
    tag = secrets.token_hex(4)
    password = f"pw-{secrets.token_urlsafe(12)}"
    start = secrets.randbelow(8_000_000) + 1_000_000
    wanted = [f"+1303{start + i:07d}" for i in range(numbers)]
    answer = cluster.manage_json(
        SEED, tag=tag, password=password, numbers=wanted, tokens=tokens, label=label
    )
    return World(
        tag=tag,
        password=password,
        admin=answer["staff"]["admin"],
        support=answer["staff"]["support"],
        owner=answer["owner"],
        numbers=answer["numbers"],
        tokens=answer["tokens"],
    )


def new_token(cluster: Cluster, world: World) -> dict[str, str]:
    """A fresh API token of the world's customer (its own rate-limit window)."""
    return cluster.manage_json(NEW_TOKEN, owner=world.owner)


# HTTP ------------------------------------------------------------------------------------------

CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class Browser:
    """A staff member's browser: one cookie jar for every server of the cluster (cookies
    are per host, not per port, as in a real browser on one site name)."""

    def __init__(self) -> None:
        self.session = requests.Session()

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("allow_redirects", False)
        return self.session.get(url, timeout=HTTP_TIMEOUT, **kwargs)

    def post(self, url: str, data: dict[str, Any], **kwargs: Any) -> requests.Response:
        """A form post with the CSRF token Django checks (from the cookie it set)."""
        token = self.session.cookies.get("csrftoken")  # set by any page with a form
        kwargs.setdefault("allow_redirects", False)
        return self.session.post(
            url,
            data={**data, "csrfmiddlewaretoken": token or ""},
            timeout=HTTP_TIMEOUT,
            headers={"Referer": url},
            **kwargs,
        )

    def sign_in(self, base: str, email: str, password: str) -> requests.Response:
        """Sign in through ``base``'s /login/ (one step: STAFF_TOTP_REQUIRED=false)."""
        page = self.get(f"{base}/login/")
        assert page.status_code == 200, page.status_code
        answer = self.post(f"{base}/login/", {"username": email, "password": password})
        assert answer.status_code == 302 and "/login/" not in answer.headers["Location"], (
            answer.status_code,
            answer.headers.get("Location"),
        )
        return answer


def signed_in(base: str, email: str, password: str) -> Browser:
    browser = Browser()
    browser.sign_in(base, email, password)
    return browser


def api_get(base: str, token: str, path: str, **params: Any) -> requests.Response:
    return requests.get(
        f"{base}{path}",
        params=params,
        headers={"Authorization": f"Bearer {token}"},
        timeout=HTTP_TIMEOUT,
    )


def api_post(base: str, token: str, path: str, body: Any, **params: Any) -> requests.Response:
    return requests.post(
        f"{base}{path}",
        params=params,
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=HTTP_TIMEOUT,
    )


def served_by(response: requests.Response) -> str | None:
    """The database alias that served the request's reads (DB_ROUTING_HEADER)."""
    return response.headers.get(ROUTING_HEADER)


JOB_STATE = re.compile(r'id="job-state"><strong>([^<]+)</strong>')


def job_state(browser: Browser, base: str, job_id: str) -> str:
    """What the job's page says of it ("Queued", "Running", "Succeeded", "Stalled"...)."""
    page = browser.get(f"{base}/jobs/{job_id}/")
    assert page.status_code == 200, (page.status_code, page.text[:500])
    found = JOB_STATE.search(page.text)
    assert found, page.text[:2000]
    return found.group(1)


def job_id_from(response: requests.Response) -> str:
    """The job a POST started, from its redirect to ``/jobs/<id>/``."""
    assert response.status_code in (302, 303), (response.status_code, response.text[:1000])
    found = re.search(r"/jobs/([0-9a-f-]{36})/", response.headers["Location"])
    assert found, response.headers["Location"]
    return found.group(1)
