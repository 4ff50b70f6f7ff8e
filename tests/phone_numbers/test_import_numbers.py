"""``manage.py import_numbers``: upstream files and the live API, all or nothing."""

from __future__ import annotations

import copy
import io
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from agents.models import AccountConnection, Action, Agent, Prompt, PromptTemplate, Webhook
from core.encoding import encode
from phone_numbers.models import PhoneNumber
from phone_numbers.present import numbers_json
from phone_numbers.queries import phone_number_list
from tests.factories import (
    make_action,
    make_agent,
    make_connection,
    make_number,
    make_prompt,
    make_template,
    make_webhook,
)
from users.models import User
from vault.fields import reveal_secrets

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


def call(*args: str, stdin: str | None = None) -> tuple[str, str]:
    """Run the command; its standard output and standard error."""
    out, err = io.StringIO(), io.StringIO()
    if stdin is not None:
        import sys

        old, sys.stdin = sys.stdin, io.StringIO(stdin)
        try:
            call_command("import_numbers", *args, stdout=out, stderr=err)
        finally:
            sys.stdin = old
    else:
        call_command("import_numbers", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def run(*args: str, stdin: str | None = None) -> str:
    return call(*args, stdin=stdin)[0]


def rejected(*args: str, stdin: str | None = None) -> tuple[str, str]:
    """Run an import that must fail: its error lines (stderr), and its last line."""
    err = io.StringIO()
    with pytest.raises(CommandError) as failure:
        if stdin is not None:
            call(*args, stdin=stdin)
        else:
            call_command("import_numbers", *args, stdout=io.StringIO(), stderr=err)
    return err.getvalue(), str(failure.value)


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
    errors, last = rejected(write(tmp_path, example))
    assert message in errors + last
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
    errors, _ = rejected(write(tmp_path, example))
    assert "cannot move it to user 22222222" in errors
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
    errors, _ = rejected(write(tmp_path, example))
    assert "credentials.twilio_auth_token: is a masked value" in errors


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


# -- every error at once ------------------------------------------------------------


def numbered(example: dict, count: int) -> list[dict]:
    """``count`` copies of the example's item, each its own number with no agent."""
    items = []
    for i in range(count):
        item = copy.deepcopy(example["items"][0])
        item.update(
            id=f"{i + 1:08d}-0000-4000-8000-000000000000",
            number=f"+1415555{i + 100:04d}",
            inbound_agent=None,
        )
        items.append(item)
    return items


def test_every_bad_item_and_field_is_listed_and_nothing_is_written(tmp_path, example):
    items = numbered(example, 3)
    items[0]["label"] = "x" * 300
    items[2]["active"] = "sometimes"
    items[2]["telephony_provider"] = "carrier-pigeon"
    before = snapshot()
    errors, last = rejected(write(tmp_path, {"items": items}))
    lines = errors.splitlines()
    assert lines[0].startswith("item 0.label: Ensure this value has at most 255 characters")
    assert any(line.startswith("item 2.active:") for line in lines)
    assert any(line.startswith("item 2.telephony_provider:") for line in lines)
    assert not any(line.startswith("item 1") for line in lines)
    assert last == "Nothing was imported: 3 errors."
    assert snapshot() == before


def test_errors_in_nested_objects_do_not_hide_the_numbers_own(tmp_path, example):
    item = example["items"][0]
    item["inbound_agent"]["language"] = "xx"
    item["inbound_agent"]["webhook"]["url"] = "ftp://x.example"
    item["number"] = "555-0123"
    errors, _ = rejected(write(tmp_path, example))
    assert "item 0.inbound_agent.language:" in errors
    assert "item 0.inbound_agent.webhook.url:" in errors
    assert "item 0.number:" in errors


def test_the_list_stops_at_the_error_limit_and_counts_the_rest(tmp_path, example, settings):
    settings.SWITCHBOARD_LIMITS = {"import_errors": 3}
    items = numbered(example, 5)
    for item in items:
        item["telephony_provider"] = "carrier-pigeon"
    errors, last = rejected(write(tmp_path, {"items": items}))
    assert errors.splitlines() == [
        "item 0.telephony_provider: Value 'carrier-pigeon' is not a valid choice.",
        "item 1.telephony_provider: Value 'carrier-pigeon' is not a valid choice.",
        "item 2.telephony_provider: Value 'carrier-pigeon' is not a valid choice.",
        "... and 2 more errors (only the first 3 are listed).",
    ]
    assert last == "Nothing was imported: 5 errors."


def test_an_item_that_breaks_the_database_does_not_hide_the_next_items_errors(
    tmp_path, example, monkeypatch
):
    """On PostgreSQL a failed statement aborts the transaction: each item has a savepoint."""
    items = numbered(example, 3)
    items[2]["telephony_provider"] = "carrier-pigeon"
    original = PhoneNumber.save

    def save(self: PhoneNumber, *args: object, **kwargs: object) -> None:
        if self.number == items[0]["number"]:
            with connection.cursor() as cursor:
                cursor.execute("SELECT * FROM no_such_table")
        original(self, *args, **kwargs)

    monkeypatch.setattr(PhoneNumber, "save", save)
    before = snapshot()
    errors, last = rejected(write(tmp_path, {"items": items}))
    assert re.match(
        r"item 0: could not be imported \((OperationalError|ProgrammingError)\)\.\n", errors
    )
    assert "item 2.telephony_provider: Value 'carrier-pigeon'" in errors
    assert last == "Nothing was imported: 2 errors."
    assert snapshot() == before


def test_an_unexpected_exception_is_one_line_without_the_value(tmp_path, example, monkeypatch):
    def explode(self: PhoneNumber, *args: object, **kwargs: object) -> None:
        raise RuntimeError("sk-live-secret-in-the-message")

    monkeypatch.setattr(PhoneNumber, "save", explode)
    errors, _ = rejected(write(tmp_path, example))
    assert errors == "item 0: could not be imported (RuntimeError).\n"


# -- hostile files ------------------------------------------------------------------


def test_json_nested_thousands_deep_is_refused_with_a_line(tmp_path):
    _, last = rejected(write(tmp_path, '{"items": ' + "[" * 100_000 + "]" * 100_000 + "}"))
    assert last.startswith("Nothing was imported. ")
    assert "is not valid JSON: nested too deeply" in last


def test_a_field_nested_deeper_than_any_field_may_be_names_its_item(tmp_path, example):
    deep: object = "bottom"
    for _ in range(300):
        deep = {"a": deep}
    example["items"][0]["example_context"] = deep
    errors, _ = rejected(write(tmp_path, example))
    assert errors.startswith("item 0.example_context.a.a")
    assert "nested deeper than the limit" in errors
    assert len(errors.splitlines()) == 1


def test_a_field_just_over_the_depth_limit_names_the_field(tmp_path, example):
    example["items"][0]["inbound_agent"]["voice"] = {"a": {"b": {"c": [[[[[[[[1]]]]]]]]}}}
    errors, _ = rejected(write(tmp_path, example))
    assert "item 0.inbound_agent.voice" in errors
    assert "nested deeper than 10 levels" in errors


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_refused(tmp_path, example, constant):
    text = json.dumps(example).replace('"llm_temperature": 0.5', f'"llm_temperature": {constant}')
    _, last = rejected(write(tmp_path, text))
    assert f"is not valid JSON: {constant} is not a JSON number" in last


def test_a_number_too_large_for_a_float_is_refused_with_its_path(tmp_path, example):
    text = json.dumps(example).replace('"llm_temperature": 0.5', '"llm_temperature": 1e400')
    errors, _ = rejected(write(tmp_path, text))
    assert errors == (
        "item 0.inbound_agent.llm_temperature: a number too large to store (not a finite number).\n"
    )


def test_invalid_utf8_is_refused_with_its_byte_offset(tmp_path):
    path = tmp_path / "latin1.json"
    path.write_bytes(b'{"items": [\n{"label": "caf\xe9"}]}')
    _, last = rejected(str(path))
    assert "is not UTF-8 text: byte 0xe9 at byte offset 26 (line 2)" in last


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path, settings, monkeypatch):
    settings.SWITCHBOARD_LIMITS = {"import_bytes": 100}
    path = write(tmp_path, {"items": [], "padding": "x" * 200})
    monkeypatch.setattr(
        "phone_numbers.management.commands.import_numbers.loads_bounded",
        lambda text: pytest.fail("an oversized file must not be parsed"),
    )
    _, last = rejected(path)
    assert last == f"Nothing was imported. {path} is over the limit of 100 bytes (import_bytes)."


def test_standard_input_over_the_size_limit_is_refused(settings):
    settings.SWITCHBOARD_LIMITS = {"import_bytes": 100}
    _, last = rejected("-", stdin=json.dumps({"items": [], "padding": "x" * 200}))
    assert "standard input is over the limit of 100 bytes" in last


@pytest.mark.parametrize("where", ["voice", "example_context"])
def test_a_hand_forged_sealed_value_is_a_line_naming_item_and_field(tmp_path, example, where):
    forged = {"api_key": {"__sealed__": "v1:abc:xyz", "preview": "x"}}
    if where == "voice":
        example["items"][0]["inbound_agent"]["voice"] = forged
        field = "item 0.inbound_agent.voice.api_key"
    else:
        example["items"][0]["example_context"] = forged
        field = "item 0.example_context.api_key"
    errors, _ = rejected(write(tmp_path, example))
    assert errors.startswith(f"{field}: __sealed__ is reserved for values sealed by Switchboard")
    assert "Traceback" not in errors
    assert PhoneNumber.objects.count() == 0


def test_nul_in_keys_and_values_is_refused_and_printed_escaped(tmp_path, example):
    example["items"][0]["label"] = "front\u0000desk"
    example["items"][0]["example_context"] = {"crm\u0000id": "42"}
    errors, _ = rejected(write(tmp_path, example))
    assert "item 0.label: contains a NUL character" in errors
    assert "item 0.example_context.crm\\x00id: the key contains a NUL character" in errors
    assert "\x00" not in errors


def test_an_e164_number_with_fullwidth_digits_is_refused(tmp_path, example):
    example["items"][0]["number"] = "+\uff11\uff14\uff11\uff15\uff15\uff15\uff15\uff10\uff11"
    errors, _ = rejected(write(tmp_path, example))
    assert errors.startswith("item 0.number: ")
    assert "is not an E.164 number" in errors


def test_a_lone_surrogate_is_refused_and_printed_escaped(tmp_path, example):
    text = json.dumps(example).replace('"My Phone Number"', '"My \\ud800 Number"')
    errors, _ = rejected(write(tmp_path, text))
    assert "item 0.label: contains a lone UTF-16 surrogate" in errors
    errors.encode("utf-8")  # printable on any terminal


# -- duplicates ---------------------------------------------------------------------


def test_two_items_with_the_same_id_are_an_error_naming_both(tmp_path, example):
    items = numbered(example, 3)
    items.append({**items[1], "number": "+14155550777"})
    errors, _ = rejected(write(tmp_path, {"items": items}))
    assert errors.splitlines() == [
        f"item 1 and item 3 have the same id {items[1]['id']}; a file may hold each number once."
    ]
    assert PhoneNumber.objects.count() == 0


def test_two_items_with_the_same_number_are_an_error_naming_both(tmp_path, example):
    items = numbered(example, 3)
    items.append({**items[0], "id": "99999999-9999-4999-8999-999999999999"})
    errors, _ = rejected(write(tmp_path, {"items": items}))
    assert errors.splitlines() == [
        f"item 0 and item 3 have the same number {items[0]['number']}; "
        "a file may hold each number once."
    ]


def test_one_agent_shared_by_several_numbers_is_imported_once(tmp_path, example):
    items = numbered(example, 3)
    for item in items:
        item["inbound_agent"] = copy.deepcopy(example["items"][0]["inbound_agent"])
    out = run(write(tmp_path, {"items": items}))
    assert PhoneNumber.objects.count() == 3
    assert Agent.objects.count() == 1
    assert set(PhoneNumber.objects.values_list("inbound_agent", flat=True)) == {
        Agent.objects.get().pk
    }
    assert "agent: 1 created, 0 updated, 0 unchanged" in out


# -- limits -------------------------------------------------------------------------


def test_a_new_description_over_the_limit_names_item_and_field(tmp_path, example):
    example["items"][0]["description"] = "x" * 10_001
    errors, _ = rejected(write(tmp_path, example))
    assert errors == "item 0.description: 10,001 characters; the limit is 10,000.\n"


def test_a_new_nested_description_over_the_limit_names_its_path(tmp_path, example):
    example["items"][0]["inbound_agent"]["prompt"]["description"] = "x" * 1_000_000
    errors, _ = rejected(write(tmp_path, example))
    assert "item 0.inbound_agent.prompt.description: 1,000,000 characters" in errors


def test_an_unchanged_row_stored_over_a_limit_is_a_warning_not_an_error(tmp_path, example):
    run(write(tmp_path, example))
    PhoneNumber.objects.update(description="x" * 10_001)  # stored before the limit existed
    stored = PhoneNumber.objects.get()
    example["items"][0]["description"] = "x" * 10_001
    out, err = call(write(tmp_path, example))
    assert err.splitlines()[0] == (
        "item 0 (PhoneNumber +1234567890): description is over a limit; unchanged, left as "
        "stored (10,001 characters; the limit is 10,000)."
    )
    assert "phonenumber: 0 created, 0 updated, 1 unchanged" in out
    again = PhoneNumber.objects.get()
    assert (again.updated_at, again.version) == (stored.updated_at, stored.version)


def test_a_change_elsewhere_leaves_a_field_stored_over_a_limit_as_it_is(tmp_path, example):
    run(write(tmp_path, example))
    PhoneNumber.objects.update(description="x" * 10_001)
    example["items"][0].update(description="x" * 10_001, label="Renamed")
    _, err = call(write(tmp_path, example))
    assert "description is over a limit; unchanged, left as stored" in err
    number = PhoneNumber.objects.get()
    assert (number.label, number.version, len(number.description)) == ("Renamed", 2, 10_001)


def test_changing_a_field_stored_over_a_limit_must_bring_it_within(tmp_path, example):
    run(write(tmp_path, example))
    PhoneNumber.objects.update(description="x" * 10_001)
    example["items"][0]["description"] = "y" * 10_001
    errors, _ = rejected(write(tmp_path, example))
    assert errors == "item 0.description: 10,001 characters; the limit is 10,000.\n"


# -- secrets ------------------------------------------------------------------------

SECRET_URL = "https://user:pw-secret-123@hooks.example.com/x?api_key=abcdef123456"


@pytest.fixture
def number_with_secrets(owner) -> PhoneNumber:
    template = make_template(owner)
    prompt = make_prompt(
        owner,
        prompt_template=template,
        context_endpoint="https://ctx.example.com/prompt?token=prompt-token-0123456789",
    )
    agent = make_agent(
        owner,
        prompt=prompt,
        webhook=make_webhook(owner, url=SECRET_URL),
        openai_account_connection=make_connection(
            owner, type="account_connection_openai", credentials={"api_key": "sk-" + "a" * 40}
        ),
        voice={"provider": "elevenlabs", "api_key": "el_0123456789abcdefWXYZ"},
        transcriber={"provider": "deepgram", "token": "dg-0123456789abcdef"},
        llm_fallback={"model": "gpt-4o", "apiKey": "sk-fallback-0123456789abcdefgh"},
        context_endpoint="https://ctx.example.com/agent?api_key=agent-key-0123456789",
    )
    agent.actions.add(
        make_action(
            owner,
            config={"headers": {"Authorization": "Bearer sk-live-abcdefghijklmnopqrstuvwx"}},
            action_trigger={"signing_secret": "whsec_0123456789abcdefgh"},
        )
    )
    return make_number(
        owner,
        inbound_agent=agent,
        telephony_account_connection=make_connection(owner),
        example_context={"crm_token": "tok_1234567890abcdef", "plan": "gold"},
    )


def plaintext(number: PhoneNumber) -> dict[str, object]:
    """Every secret of a number's graph, decrypted."""
    number = PhoneNumber.objects.get(pk=number.pk)
    agent = Agent.objects.get(pk=number.inbound_agent_id)
    action = agent.actions.get()
    return {
        "example_context": reveal_secrets(number.example_context),
        "voice": reveal_secrets(agent.voice),
        "transcriber": reveal_secrets(agent.transcriber),
        "llm_fallback": reveal_secrets(agent.llm_fallback),
        "config": reveal_secrets(action.config),
        "action_trigger": reveal_secrets(action.action_trigger),
        "webhook": agent.webhook.url.reveal(),
        "agent_endpoint": agent.context_endpoint.reveal(),
        "prompt_endpoint": agent.prompt.context_endpoint.reveal(),
        "llm": agent.openai_account_connection.reveal_credentials(),
        "telephony": number.telephony_account_connection.reveal_credentials(),
    }


def exported(owner: User) -> str:
    """The API's answer for the owner's numbers, as a file: every secret masked."""
    text = encode({"items": numbers_json(phone_number_list(owner=owner))}).decode()
    assert "el_0123456789abcdefWXYZ" not in text and "pw-secret-123" not in text
    return text


def test_an_export_reimported_keeps_every_stored_secret(tmp_path, owner, number_with_secrets):
    before = plaintext(number_with_secrets)
    assert before["voice"]["api_key"] == "el_0123456789abcdefWXYZ"
    assert before["webhook"] == SECRET_URL
    stamp = PhoneNumber.objects.values_list("updated_at", "version").get()

    out = run(write(tmp_path, exported(owner)))

    assert plaintext(number_with_secrets) == before
    for name in ("action", "agent", "prompt", "prompttemplate", "webhook", "phonenumber"):
        assert f"{name}: 0 created, 0 updated, 1 unchanged" in out
    assert "accountconnection: 0 created, 0 updated, 2 unchanged" in out
    assert PhoneNumber.objects.values_list("updated_at", "version").get() == stamp


def test_an_export_with_one_change_keeps_the_secrets_it_did_not_change(
    tmp_path, owner, number_with_secrets
):
    before = plaintext(number_with_secrets)
    page = json.loads(exported(owner))
    agent = page["items"][0]["inbound_agent"]
    agent["voice"]["stability"] = 0.4
    agent["webhook"]["label"] = "Renamed hook"

    out = run(write(tmp_path, page))

    after = plaintext(number_with_secrets)
    assert after["voice"] == {**before["voice"], "stability": 0.4}
    assert after["webhook"] == SECRET_URL
    assert after == {**before, "voice": after["voice"]}
    assert "agent: 0 created, 1 updated, 0 unchanged" in out
    assert "webhook: 0 created, 1 updated, 0 unchanged" in out


def test_a_masked_secret_with_nothing_stored_behind_it_is_refused(tmp_path, example):
    example["items"][0]["inbound_agent"]["voice"] = {"api_key": "\u2022" * 8 + "WXYZ"}
    errors, _ = rejected(write(tmp_path, example))
    assert errors.startswith("item 0.inbound_agent.voice.api_key: a masked value with no stored")


def test_an_upstream_page_nested_too_deep_is_a_line(monkeypatch):
    def deep_page(*args: object, **kwargs: object) -> object:
        raise RecursionError("maximum recursion depth exceeded")
        yield  # a generator, like the real one

    monkeypatch.setenv("UPSTREAM_TOKEN", "up-token")
    monkeypatch.setattr(
        "phone_numbers.management.commands.import_numbers.fetch_all_pages", deep_page
    )
    with pytest.raises(CommandError, match="JSON that cannot be read \\(RecursionError\\)"):
        run("--url", "http://127.0.0.1:9/x", "--token-env", "UPSTREAM_TOKEN")


def test_a_number_changed_while_the_import_runs_is_a_conflict_not_an_overwrite(
    tmp_path, example, monkeypatch
):
    """The importer writes numbers through phone_numbers.services (compare-and-set)."""
    call(write(tmp_path, example))
    item = example["items"][0]
    item["label"] = "From the file"
    from phone_numbers import services

    original = services.phone_number_save

    def racing(**kwargs):
        # Someone edits the number between the importer's read and its write.
        PhoneNumber.objects.filter(pk=item["id"]).update(label="Edited meanwhile", version=9)
        return original(**kwargs)

    monkeypatch.setattr("phone_numbers.importer.phone_number_save", racing)
    with pytest.raises(CommandError):
        call(write(tmp_path, {"items": [item]}, "second.json"))
    assert PhoneNumber.objects.get(pk=item["id"]).label != "From the file"


def test_the_placeholder_user_an_import_creates_is_audited(tmp_path, example):
    """Accounts have one write path, users.services.user_save: the importer's too."""
    from audit.models import AuditEntry

    run(write(tmp_path, example))
    user_id = example["items"][0]["user_id"]
    entry = AuditEntry.objects.get(object_type="users.user", object_id=user_id)
    assert (entry.action, entry.source) == ("create", "import")
    assert entry.actor_label == "command import_numbers"
    assert entry.changes["email"] == [None, f"{user_id}@imported.invalid"]
    assert User.objects.get(pk=user_id).password not in str(entry.changes)


def _waits_for_a_lock(pid: int, done: threading.Event) -> bool:
    """True once backend ``pid`` waits for a lock; False if its statement finished first."""
    for _ in range(500):
        if done.is_set():
            return False
        with connection.cursor() as cursor:
            cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
            row = cursor.fetchone()
        if row and row[0] == "Lock":
            return True
        time.sleep(0.02)
    raise AssertionError("the other writer neither finished nor waited for a lock")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_agent_edited_while_the_import_runs_waits_for_it_and_is_not_undone(example, monkeypatch):
    """The importer locks the rows it reads: an edit made between its read and its
    save waits for the import to commit, then applies, instead of being overwritten."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers; this test needs PostgreSQL's row locks")
    from django.db import connections

    from phone_numbers import importer

    importer.import_items(example["items"])
    agent_id = example["items"][0]["inbound_agent"]["id"]
    example["items"][0]["inbound_agent"]["label"] = "From the file"
    started, done = threading.Event(), threading.Event()
    state: dict[str, object] = {}

    def other_writer() -> None:
        try:
            with connections["default"].cursor() as cursor:  # this thread's own connection
                cursor.execute("SELECT pg_backend_pid()")
                state["pid"] = cursor.fetchone()[0]
            started.set()
            Agent.objects.filter(pk=agent_id).update(name="Edited elsewhere")
        except BaseException as exc:
            state["error"] = exc
        finally:
            started.set()
            done.set()
            connections.close_all()

    validate = importer._Importer._validate

    def validate_while_someone_edits(self, obj, path):
        if isinstance(obj, Agent) and "thread" not in state:
            # Between the importer's read of the agent and its save.
            state["thread"] = thread = threading.Thread(target=other_writer)
            thread.start()
            assert started.wait(10)
            state["waited"] = "pid" in state and _waits_for_a_lock(state["pid"], done)
        return validate(self, obj, path)

    monkeypatch.setattr(importer._Importer, "_validate", validate_while_someone_edits)
    result = importer.import_items(example["items"])
    state["thread"].join(10)

    assert "error" not in state, state.get("error")
    assert result.updated["agent"] == 1
    assert state["waited"] is True  # the edit waited for the import's row lock
    agent = Agent.objects.get(pk=agent_id)
    assert (agent.label, agent.name) == ("From the file", "Edited elsewhere")
