"""Why a change was made: taken at every door, checked, stored masked, shown, searchable."""

from __future__ import annotations

import io
import json

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse

from audit.models import AuditEntry
from audit.reasons import ReasonField, clean_reason, stored_reason
from audit.services import Actor
from phone_numbers import services
from phone_numbers.models import PhoneNumber
from tests.factories import make_number
from vault.masking import DOTS, mask_text

pytestmark = pytest.mark.django_db
EXAMPLE = "tests/phone_numbers/list-numbers-example.json"
UPDATE = "/v1/numbers/update?phone_number=%2B14155550123"
SECRET = "sk_live_" + "s" * 24 + "TAIL"


def number_entry() -> AuditEntry:
    return AuditEntry.objects.filter(object_type="numbers.phonenumber").latest("id")


# --- The rule --------------------------------------------------------------------


def test_a_reason_is_trimmed_and_may_be_empty():
    assert clean_reason("  SUP-1234 customer asked  ") == "SUP-1234 customer asked"
    assert clean_reason("") == "" and clean_reason(None) == ""


@pytest.mark.parametrize(
    "bad", ["two\nlines", "a\rb", "tab\there", "nul\x00", "esc\x1b[2J", "a\u2028b", "\u202eevil"]
)
def test_a_reason_is_one_line_without_control_characters(bad):
    with pytest.raises(ValidationError, match="one line of text"):
        clean_reason(bad)


def test_a_reason_has_at_most_500_characters(settings):
    assert clean_reason("x" * 500) == "x" * 500
    with pytest.raises(ValidationError, match="at most 500 characters"):
        clean_reason("x" * 501)
    settings.SWITCHBOARD_LIMITS = {"reason": 10}
    with pytest.raises(ValidationError):
        clean_reason("x" * 11)


def test_the_form_field_is_optional_and_checks_the_rule():
    field = ReasonField()
    assert field.clean("") == "" and field.clean(" ok ") == "ok"
    assert field.widget.attrs["maxlength"] == "500"
    with pytest.raises(ValidationError):
        field.clean("a\nb")


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("SUP-1234: customer asked", "SUP-1234: customer asked"),
        (f"pasted {SECRET} by mistake", f"pasted {DOTS}TAIL by mistake"),
        ("Authorization: Bearer abcdefghijklmnopqrstuvwxyz012345", f"Authorization: {DOTS}2345"),
        ("see https://u:hunter2@db.example/x", f"see https://u:{DOTS}@db.example/x"),
        ("https://h.example/hook?api_key=abc123&x=1", f"https://h.example/hook?api_key={DOTS}&x=1"),
        ("password=hunter2 it was", f"password={DOTS} it was"),
    ],
)
def test_credential_shaped_text_is_masked_before_it_is_stored(typed, stored):
    assert stored_reason(typed) == stored == mask_text(typed)


def test_a_writer_that_skipped_the_check_still_stores_one_bounded_line():
    assert stored_reason("a\nb\x00c" + "x" * 600) == ("a b c" + "x" * 600)[:500]


def test_every_entry_of_a_change_stores_the_actors_reason_masked(owner):
    number = make_number(owner, "+14155550123")
    services.phone_number_update(
        number=number,
        changes={"label": "New"},
        actor=Actor("ann@x", "dashboard", reason=f"SUP-9 {SECRET}"),
    )
    entry = number_entry()
    assert entry.reason == f"SUP-9 {DOTS}TAIL"
    assert not AuditEntry.objects.filter(reason__contains=SECRET[:-4]).exists()


# --- The API: X-Change-Reason ------------------------------------------------------


def test_the_api_records_the_x_change_reason_header(api):
    make_number(api.user, "+14155550123")
    # Header bytes reach Django as Latin-1 (WSGI): UTF-8 "café" arrives as "cafÃ©".
    sent = "SUP-77 café".encode().decode("latin-1")
    response = api.post(UPDATE, {"label": "X"}, HTTP_X_CHANGE_REASON=sent)
    assert response.status_code == 200
    assert number_entry().reason == "SUP-77 café"


def test_the_api_masks_a_credential_in_the_reason(api):
    make_number(api.user, "+14155550123")
    assert api.post(UPDATE, {"label": "X"}, HTTP_X_CHANGE_REASON=SECRET).status_code == 200
    assert number_entry().reason == f"{DOTS}TAIL"


@pytest.mark.parametrize("reason", ["x" * 501, "bell\x07", "\x1b[31m"])
def test_the_api_refuses_a_bad_reason_with_a_422_and_writes_nothing(api, reason):
    make_number(api.user, "+14155550123", label="Old")
    response = api.post(UPDATE, {"label": "X"}, HTTP_X_CHANGE_REASON=reason)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["header", "X-Change-Reason"]
    assert PhoneNumber.objects.get().label == "Old"
    assert not AuditEntry.objects.filter(object_type="numbers.phonenumber").exists()


def test_the_api_refuses_a_reason_that_is_not_utf8(api):
    make_number(api.user, "+14155550123")
    response = api.post(UPDATE, {"label": "X"}, HTTP_X_CHANGE_REASON="caf\xe9")
    assert response.status_code == 422 and "UTF-8" in response.json()["detail"][0]["msg"]


def test_the_openapi_schema_documents_the_reason_header(client):
    schema = json.loads(client.get("/v1/openapi.json").content)
    parameters = schema["paths"]["/v1/numbers/update"]["post"]["parameters"]
    reason = next(p for p in parameters if p["name"] == "X-Change-Reason")
    assert reason["in"] == "header" and not reason.get("required", False)
    assert "history" in reason["description"]


# --- The importer: --reason --------------------------------------------------------


def test_the_importer_records_its_reason_in_every_entry():
    call_command("import_numbers", EXAMPLE, "--reason", "OPS-5 nightly sync", stdout=io.StringIO())
    reasons = set(AuditEntry.objects.values_list("reason", flat=True))
    assert reasons == {"OPS-5 nightly sync"}


def test_the_importer_refuses_a_bad_reason_before_reading_anything():
    with pytest.raises(CommandError, match="--reason: A reason has at most 500"):
        call_command("import_numbers", EXAMPLE, "--reason", "x" * 501, stdout=io.StringIO())
    assert not AuditEntry.objects.exists() and not PhoneNumber.objects.exists()


# --- The admin ---------------------------------------------------------------------


def test_the_admin_form_takes_a_reason_and_the_entry_records_it(client, number_admin, owner):
    number = make_number(owner, "+14155550123", label="Old")
    client.force_login(number_admin)
    url = reverse("admin:numbers_phonenumber_change", args=[number.pk])
    assert 'name="reason"' in client.get(url).content.decode()
    form = {"label": "New", "active": "on", "expected_version": "1", "reason": "SUP-3 renamed"}
    assert client.post(url, form).status_code == 302
    entry = number_entry()
    assert (entry.changes, entry.reason) == ({"label": ["Old", "New"]}, "SUP-3 renamed")


def test_the_admin_refuses_a_bad_reason_as_a_form_error(client, number_admin, owner):
    number = make_number(owner, "+14155550123", label="Old")
    client.force_login(number_admin)
    url = reverse("admin:numbers_phonenumber_change", args=[number.pk])
    form = {"label": "New", "active": "on", "expected_version": "1", "reason": "a\nb"}
    response = client.post(url, form)
    assert response.status_code == 200 and "one line of text" in response.content.decode()
    assert PhoneNumber.objects.get().label == "Old"
    assert not AuditEntry.objects.filter(object_type="numbers.phonenumber").exists()


# --- Shown and searchable ----------------------------------------------------------


def test_the_trail_finds_an_entry_by_its_reason_and_shows_it(client, support, owner):
    a = make_number(owner, "+14155550001")
    b = make_number(owner, "+14155550002")
    services.phone_number_update(
        number=a, changes={"label": "A"}, actor=Actor("ann@x", "dashboard", reason="SUP-1234 moved")
    )
    services.phone_number_update(
        number=b, changes={"label": "B"}, actor=Actor("bob@x", "dashboard", reason="cleanup")
    )
    client.force_login(support)
    body = client.get(reverse("audit:list"), {"q": "sup-1234"}).content.decode()
    assert "ann@x" in body and "bob@x" not in body
    assert "SUP-1234 moved" in body
    export = client.get(reverse("audit:export"), {"q": "SUP-1234"})
    csv = b"".join(export.streaming_content).decode()
    assert "SUP-1234 moved" in csv and "cleanup" not in csv
