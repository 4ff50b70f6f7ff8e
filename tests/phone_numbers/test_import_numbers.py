"""``manage.py import_numbers``: upstream files and the live API, all or nothing."""

from __future__ import annotations

import copy
import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import CommandError, call_command

from agents.models import AccountConnection, Action, Agent, Prompt, PromptTemplate, Webhook
from phone_numbers.models import PhoneNumber
from users.models import User

pytestmark = pytest.mark.django_db

SEED = Path(__file__).resolve().parents[3] / "shared" / "seed" / "list-numbers-example.json"
EXAMPLE = json.loads(SEED.read_text()) if SEED.exists() else None
MODELS = (User, PhoneNumber, Agent, Prompt, PromptTemplate, Action, Webhook, AccountConnection)


@pytest.fixture
def example() -> dict:
    if EXAMPLE is None:  # the repo ships a copy for checkouts without shared/
        return json.loads((Path(__file__).parent / "list-numbers-example.json").read_text())
    return copy.deepcopy(EXAMPLE)


def write(tmp_path: Path, document: object, name: str = "numbers.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(document) if not isinstance(document, str) else document)
    return str(path)


def run(*args: str, stdin: str | None = None) -> str:
    out = io.StringIO()
    if stdin is not None:
        import sys

        old, sys.stdin = sys.stdin, io.StringIO(stdin)
        try:
            call_command("import_numbers", *args, stdout=out, stderr=io.StringIO())
        finally:
            sys.stdin = old
    else:
        call_command("import_numbers", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def snapshot() -> dict[str, int]:
    return {m.__name__: m.objects.count() for m in MODELS}


def test_the_example_file_imports_every_field(tmp_path, example):
    run(write(tmp_path, example))

    number = PhoneNumber.objects.select_related("inbound_agent__prompt__prompt_template").get()
    assert number.number == "+1234567890"
    assert number.number_is_valid is False  # the example's placeholder is flagged, not refused
    assert number.label == "My Phone Number"
    assert number.description == "Business line for customer service"
    assert number.telephony_account_connection is None  # {} upstream means no link
    assert str(number.user_id) == "550e8400-e29b-41d4-a716-446655440000"
    assert number.user.email == "550e8400-e29b-41d4-a716-446655440000@imported.invalid"
    assert not number.user.has_usable_password()
    agent = number.inbound_agent
    assert agent.name == "My Agent"
    assert agent.deepgram_keywords == {"kansas": 10}
    assert agent.conversation_speed == 0.5 and agent.initial_message_delay == 1000
    assert agent.prompt.prompt_template.required_context_keys == ["tag1", "tag2"]
    assert agent.prompt.collect_fields == ["<string>"]
    assert list(agent.actions.values_list("type", flat=True)) == ["action_transfer_call"]
    assert agent.webhook.subscriptions == ["event_message", "event_action"]
    conn = agent.openai_account_connection
    assert conn.type == "account_connection_twilio"
    assert conn.reveal_credentials() == {
        "twilio_account_sid": "AC1234567890",
        "twilio_auth_token": "1234567890",
    }
    assert conn.steering_pool == ["+1234567890"]
    assert agent.has_llm_mismatch  # a Twilio connection as the OpenAI connection is flagged


def test_importing_the_same_file_twice_changes_nothing(tmp_path, example):
    path = write(tmp_path, example)
    run(path)
    before = snapshot()
    number = PhoneNumber.objects.get()
    out = run(path)
    again = PhoneNumber.objects.get()
    assert snapshot() == before
    assert (again.updated_at, again.version) == (number.updated_at, number.version)
    assert "0 created, 0 updated" in out
    assert " updated, 0 unchanged" not in out.replace("0 updated, 0 unchanged", "")


def test_a_changed_field_updates_the_object_and_bumps_the_version(tmp_path, example):
    run(write(tmp_path, example))
    example["items"][0]["label"] = "Renamed"
    run(write(tmp_path, example))
    number = PhoneNumber.objects.get()
    assert (number.label, number.version) == ("Renamed", 2)


def test_it_reads_an_array_of_pages_and_standard_input(example):
    second = copy.deepcopy(example)
    item = second["items"][0]
    item.update(id="11111111-1111-4111-8111-111111111111", number="+14155550123")
    run("-", stdin=json.dumps([example, second]))
    assert PhoneNumber.objects.count() == 2


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["items"][0].pop("number"), "item 0.number: required field is missing"),
        (
            lambda d: d["items"][0]["inbound_agent"].update(language="xx"),
            "item 0.inbound_agent.language",
        ),
        (
            lambda d: d["items"][0]["inbound_agent"]["prompt"].update(type="essay"),
            "item 0.inbound_agent.prompt.type",
        ),
        (
            lambda d: d["items"][0]["inbound_agent"].update(llm_temperature=7),
            "item 0.inbound_agent.llm_temperature",
        ),
        (
            lambda d: give_agent_to(d["items"][0], "22222222-2222-4222-8222-222222222222"),
            "item 0.inbound_agent.user_id: belongs to user 22222222",
        ),
        (
            lambda d: d["items"][0]["inbound_agent"]["webhook"].update(url="ftp://x.example"),
            "item 0.inbound_agent.webhook.url",
        ),
        (lambda d: d["items"][0].update(number="555-0123"), "item 0.number"),
        (lambda d: d["items"][0].update(id="not-a-uuid"), "item 0.id: 'not-a-uuid' is not a UUID"),
        (lambda d: d.pop("items"), 'no "items" list'),
    ],
)
def test_bad_input_is_rejected_with_its_path_and_nothing_is_written(
    tmp_path, example, mutate, message
):
    good = copy.deepcopy(example["items"][0])
    good.update(
        id="33333333-3333-4333-8333-333333333333", number="+14155550999", inbound_agent=None
    )
    mutate(example)
    if "items" in example:
        example["items"].insert(0, good)  # a valid item first: it must be rolled back
        message = message.replace("item 0", "item 1")
    before = snapshot()
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(".", r"\.")):
        run(write(tmp_path, example))
    assert snapshot() == before


def give_agent_to(item: dict, user_id: str) -> None:
    """Hand the item's whole agent tree (agent, prompt, actions...) to another user."""

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "user_id" in node:
                node["user_id"] = user_id
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(item["inbound_agent"])


def test_an_import_cannot_move_an_object_to_another_user(tmp_path, example):
    run(write(tmp_path, example))
    give_agent_to(example["items"][0], "22222222-2222-4222-8222-222222222222")
    example["items"][0]["user_id"] = "22222222-2222-4222-8222-222222222222"
    with pytest.raises(CommandError, match="cannot move it to user 22222222"):
        run(write(tmp_path, example))
    assert str(Agent.objects.get().user_id) == "550e8400-e29b-41d4-a716-446655440000"


def test_invalid_json_names_the_line(tmp_path):
    with pytest.raises(CommandError, match="not valid JSON.*line 2"):
        run(write(tmp_path, '{"items": [\n  {,]}'))


def test_a_masked_credential_keeps_the_stored_secret(tmp_path, example):
    run(write(tmp_path, example))
    creds = example["items"][0]["inbound_agent"]["openai_account_connection"]["credentials"]
    creds["twilio_auth_token"] = "\u2022" * 8
    run(write(tmp_path, example))
    conn = AccountConnection.objects.get()
    assert conn.reveal_credentials()["twilio_auth_token"] == "1234567890"


def test_a_masked_credential_with_nothing_stored_is_refused(tmp_path, example):
    creds = example["items"][0]["inbound_agent"]["openai_account_connection"]["credentials"]
    creds["twilio_auth_token"] = "\u2022" * 8 + "7890"
    with pytest.raises(CommandError, match="credentials.twilio_auth_token: is a masked value"):
        run(write(tmp_path, example))


class Upstream:
    """A tiny upstream API on loopback: pages, a token, and scripted failures."""

    def __init__(self, pages: list[dict], token: str = "up-token", fail_first: int = 0) -> None:
        self.pages, self.token, self.fail_first = pages, token, fail_first
        self.requests: list[str] = []
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                upstream.requests.append(self.path)
                if self.headers.get("Authorization") != f"Bearer {upstream.token}":
                    return self._send(401, {"detail": "bad token"})
                if upstream.fail_first > 0:
                    upstream.fail_first -= 1
                    return self._send(503, {"detail": "busy"})
                page = int(parse_qs(urlsplit(self.path).query)["page"][0])
                return self._send(200, upstream.pages[page - 1])

            def _send(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/numbers/list"

    def __enter__(self) -> Upstream:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def two_pages(example: dict) -> list[dict]:
    second = copy.deepcopy(example)
    second["items"][0].update(id="44444444-4444-4444-8444-444444444444", number="+14155550124")
    return [{**example, "page": 1, "has_more": True}, {**second, "page": 2, "has_more": False}]


def test_it_pages_through_a_live_upstream(example, monkeypatch):
    monkeypatch.setenv("UPSTREAM_TOKEN", "up-token")
    with Upstream(two_pages(example)) as upstream:
        run("--url", upstream.url, "--token-env", "UPSTREAM_TOKEN", "--size", "1")
    assert PhoneNumber.objects.count() == 2
    assert [parse_qs(urlsplit(p).query)["page"] for p in upstream.requests] == [["1"], ["2"]]


def test_it_retries_a_5xx(example, monkeypatch):
    monkeypatch.setenv("UPSTREAM_TOKEN", "up-token")
    monkeypatch.setattr("phone_numbers.upstream.time.sleep", lambda s: None)
    with Upstream(two_pages(example), fail_first=2) as upstream:
        run("--url", upstream.url, "--token-env", "UPSTREAM_TOKEN")
    assert PhoneNumber.objects.count() == 2
    assert len(upstream.requests) == 4


def test_it_stops_on_401_with_a_clear_message(example, monkeypatch):
    monkeypatch.setenv("UPSTREAM_TOKEN", "wrong")
    with Upstream(two_pages(example)) as upstream, pytest.raises(CommandError, match="HTTP 401"):
        run("--url", upstream.url, "--token-env", "UPSTREAM_TOKEN")
    assert PhoneNumber.objects.count() == 0


def test_the_token_must_come_from_the_environment(example, monkeypatch):
    monkeypatch.delenv("UPSTREAM_TOKEN", raising=False)
    with pytest.raises(CommandError, match="UPSTREAM_TOKEN is empty or not set"):
        run("--url", "http://127.0.0.1:9/x", "--token-env", "UPSTREAM_TOKEN")
