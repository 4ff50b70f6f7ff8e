"""No credential ever leaves the server: every page, API answer, log line and table row.

Canaries are unique alphanumeric secrets planted in every secret-bearing field
(16 connection types, voice/transcriber/fallback/action JSON, an API token).
Alphanumeric, so HTML-, JSON- and URL-escaping leave them unchanged: one
search covers every encoding. A leak is any 8-character piece of a secret
beyond its visible last 4 characters.
"""

from __future__ import annotations

import json
import logging
import secrets

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client

from agents.models import ConnectionType
from audit.models import Action as AuditAction
from audit.models import AuditEntry
from audit.services import Actor, diff, record, snapshot
from jobs.models import Job, JobState
from phone_numbers import services
from tests.factories import (
    make_action,
    make_agent,
    make_connection,
    make_number,
    make_prompt,
    make_task_result,
    make_template,
    make_webhook,
)
from tests.security.crawl import routes
from users.management.commands.setup_roles import ensure_roles
from users.models import User
from users.services import api_token_create

pytestmark = pytest.mark.django_db

WINDOW = 8


def canary() -> str:
    return "cnry" + secrets.token_hex(14)


class Canaries:
    def __init__(self) -> None:
        self.secrets: list[str] = []
        self.grams: set[str] = set()

    def add(self, value: str, visible_tail: int = 4) -> str:
        hidden = value[:-visible_tail]
        self.secrets.append(value)
        self.grams.update(hidden[i : i + WINDOW] for i in range(len(hidden) - WINDOW + 1))
        return value

    def leaks(self, text: str) -> set[str]:
        grams = self.grams
        return {text[i : i + WINDOW] for i in range(len(text) - WINDOW + 1)} & grams


@pytest.fixture
def planted(db):
    c = Canaries()
    owner = User.objects.create_user("ops@acme.example")
    other = User.objects.create_user("ops@globex.example")
    conns = {}
    for kind in ConnectionType:
        conns[kind] = make_connection(
            owner,
            type=kind,
            label=f"{kind.label} account",
            credentials={
                "api_key": c.add(canary()),
                "secret": c.add(canary()),
                "region": "eu-west-1",
            },
        )

    def bearer() -> str:
        return "Bearer " + c.add(canary())

    def jwt() -> str:
        return f"eyJ{c.add(canary())}.eyJ{c.add(canary())}.{c.add(canary())}"

    def aws() -> str:
        return "AKIA" + c.add(secrets.token_hex(8).upper())

    def url_with_secrets() -> str:
        return (
            f"https://ops:{c.add(canary())}@hooks.acme.example/x"
            f"?api_key={c.add(canary())}&access_token={c.add(canary())}&page=2"
        )

    # Canaries under every kind of secret the rule knows: secret words with
    # plurals and casings, credential-shaped values under innocent keys, URL
    # passwords and secret query parameters, in every JSON and URL field.
    def secret_tree() -> dict:
        return {
            "api_key": c.add(canary()),
            "apiKeys": [c.add(canary()), c.add(canary())],
            "ACCESS-TOKENS": {"primary": c.add(canary())},
            "clientSecrets": c.add(canary()),
            "refresh_tokens": [c.add(canary())],
            "headers": {"Authorization": bearer(), "Cookie": "sid=" + c.add(canary())},
            "bearer": c.add(canary()),
            "note": "sk_live_" + c.add(canary()),
            "openai": "sk-proj-" + c.add(canary()),
            "slack": "xoxb-" + c.add(canary()),
            "github": "ghp_" + c.add(canary()),
            "aws": aws(),
            "session": jwt(),
            "callback": url_with_secrets(),
            "max_tokens": 256,
        }

    webhook = make_webhook(owner, url=url_with_secrets())
    agent = make_agent(
        owner,
        name="Canary Desk",
        webhook=webhook,
        prompt=make_prompt(
            owner, prompt_template=make_template(owner), context_endpoint=url_with_secrets()
        ),
        openai_account_connection=conns[ConnectionType.OPENAI],
        context_endpoint=url_with_secrets(),
        voice={"provider": "elevenlabs", "api_key": c.add(canary()), **secret_tree()},
        transcriber={"provider": "deepgram", "token": c.add(canary()), **secret_tree()},
        llm_fallback={"provider": "openai", "apiKey": c.add(canary()), **secret_tree()},
    )
    action = make_action(
        owner,
        config={"signing_secret": c.add(canary()), **secret_tree()},
        action_trigger={"password": c.add(canary()), **secret_tree()},
    )
    agent.actions.add(action)
    number = make_number(
        owner,
        "+14155550123",
        inbound_agent=agent,
        telephony_account_connection=conns[ConnectionType.TWILIO],
        example_context={
            "crm_token": c.add(canary()),
            "Authorization": bearer(),
            "lookup": url_with_secrets(),
            "ref": "sk_live_" + c.add(canary()),
        },
    )
    # Every secret-bearing object in the audit trail as a creation, as the
    # importer and the admin record them.
    for obj in (webhook, agent.prompt, agent, action, number):
        record(
            actor=Actor("setup", "import"),
            obj=obj,
            changes=diff({}, snapshot(obj)),
            action=AuditAction.CREATE,
        )
    make_number(other, "+14155550199")
    # Audited changes of secret-bearing objects, so the trail is crawled too.
    # A reason with a credential pasted in it: stored masked, shown masked.
    pasted = c.add(canary())
    services.phone_number_update(
        number=number,
        changes={"label": "Canary line"},
        actor=Actor("setup", "dashboard", reason=f"SUP-1 tried Bearer {pasted}"),
    )
    tokens = {}
    for user in (owner, other):
        _api_token, token = api_token_create(user=user, name="canary")
        c.add(token.split("_", 2)[2])  # the secret part; sb_<prefix>_ is public
        tokens[user.email] = token
    groups = ensure_roles()
    staff = {"superuser": User.objects.create_superuser("root@x.test", "pw-root-123456")}
    for role, group in (("support", "Support"), ("number_admin", "Number admins")):
        user = User.objects.create_user(f"{role}@x.test", "pw-123456789", is_staff=True)
        user.groups.add(groups[group])
        staff[role] = user
    Client().post("/login/", {"username": "root@x.test", "password": "wrong"})  # axes rows
    # A background export of the whole inventory (its file is crawled too) and the
    # task queue's row for it (the admin's task results).
    export = Client()
    export.force_login(staff["superuser"])
    export.post("/numbers/export-job", {"query": "sort=-label"})
    job = Job.objects.get(kind="export_csv")
    assert job.state == JobState.SUCCEEDED, job.error
    make_task_result(job)
    # An import preview of the owner's own page, edited: a label, a new secret in the
    # number's example context and a new plaintext credential on its connection. The
    # preview page shows the trail's diff of it, masked.
    page = json.loads(
        export.get(
            "/v1/numbers/list?size=100", HTTP_AUTHORIZATION=f"Bearer {tokens[owner.email]}"
        ).content
    )
    item = next(i for i in page["items"] if i["number"] == "+14155550123")
    item["label"] = "Imported canary"
    item["example_context"]["crm_token"] = c.add(canary())
    item["telephony_account_connection"]["credentials"] = {"twilio_auth_token": c.add(canary())}
    upload = SimpleUploadedFile("page.json", json.dumps(page).encode())
    export.post("/imports/new", {"file": upload, "reason": "canary import"})
    preview = Job.objects.get(kind="import_preview")
    assert preview.state == JobState.SUCCEEDED, preview.error
    assert preview.result["changed"] == 1, preview.result
    objects = {
        "numbers": number,
        "agents:detail": agent,
        "agents:webhook": webhook,
        "agents:connection": conns[ConnectionType.TWILIO],
        # The revert page of the entry with the pasted credential in its reason.
        "audit": AuditEntry.objects.filter(object_id=str(number.pk)).latest("id"),
        "customers": number.user,  # the account page: tokens, connections, changes
        "jobs": job,
        "imports": preview,
    }
    return c, staff, tokens, objects, number


def body_of(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode(errors="replace")
    return response.content.decode(errors="replace")


def test_no_page_api_answer_log_or_table_holds_a_secret(planted, caplog):
    c, staff, tokens, objects, number = planted
    checked = 0
    with caplog.at_level(logging.DEBUG):
        for role, user in staff.items():
            client = Client(raise_request_exception=False)
            client.force_login(user)
            for route in routes(objects):
                if route.name in ("logout", "admin:logout"):
                    continue
                for path in (route.url, route.url + "?q=cnry&sort=-label&size=100"):
                    response = client.get(path, HTTP_HX_REQUEST="true")
                    assert not c.leaks(body_of(response)), (role, path)
                    checked += 1
                response = client.get(route.url)
                assert not c.leaks(body_of(response)), (role, route.url)
            # The import preview's page (its job's page, with the diff it would write).
            preview_page = client.get(f"/jobs/{objects['imports'].pk}/")
            assert not c.leaks(body_of(preview_page)), (role, "import preview")
        for token in tokens.values():
            api = Client(raise_request_exception=False)
            auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
            for path in (
                "/v1/numbers/list?size=100",
                "/v1/numbers?phone_number=%2B14155550123",
                "/v1/agents/list?size=100",
                f"/v1/agents?id={objects['agents:detail'].pk}",
                "/v1/openapi.json",
                "/v1/docs",
                "/v1/nope",
            ):
                assert not c.leaks(body_of(api.get(path, **auth))), path
                checked += 1
            response = api.post(
                "/v1/numbers/update?phone_number=%2B14155550123",
                '{"label": "x", "example_context": {"k": "v"}}',
                content_type="application/json",
                **auth,
            )
            assert not c.leaks(body_of(response))
        anonymous = Client(raise_request_exception=False)
        for path in ("/login/", "/numbers/", "/nope/", "/healthz", "/v1/numbers/list"):
            assert not c.leaks(body_of(anonymous.get(path)))
        customer = Client(raise_request_exception=False)
        customer.force_login(number.user)
        assert not c.leaks(body_of(customer.get("/numbers/")))  # the 403 page
    assert checked > 100

    log_text = caplog.text + "\n".join(str(r.__dict__) for r in caplog.records)
    assert not c.leaks(log_text), "a secret reached the logs"

    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - names from introspection
            assert not c.leaks(repr(cursor.fetchall())), f"plaintext secret in table {table}"


def test_a_500_page_never_shows_the_exception(planted, monkeypatch):
    c, staff, _tokens, _objects, _number = planted
    secret = c.secrets[0]

    def explode(*args, **kwargs):
        raise RuntimeError(f"failed with credentials {secret}")

    monkeypatch.setattr("console.numbers.queries.inventory", explode)
    client = Client(raise_request_exception=False)
    client.force_login(staff["superuser"])
    response = client.get("/numbers/")
    assert response.status_code == 500 and not c.leaks(body_of(response))
