"""Inline edits of label and inbound agent: saved, audited, conflict-safe, permission-checked."""

from __future__ import annotations

import html

import pytest
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from agents.models import Agent, ConnectionType
from audit.models import AuditEntry
from audit.services import Actor
from phone_numbers import services
from phone_numbers.models import PhoneNumber
from tests.factories import make_agent, make_connection, make_number

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def number(owner):
    return make_number(owner, "+14155550123", label="Main")


def save_label(client, number, label, version=None, slot="row", **shown):
    """``shown``: what else the page shows of the number (``panel_of``, ``row_of``)."""
    return client.post(
        reverse("numbers:save_label", args=[number.pk]),
        {"label": label, "version": version or number.version, "slot": slot, **shown},
        **HX,
    )


def test_the_edit_form_carries_the_current_version(client, number_admin, number):
    client.force_login(number_admin)
    body = client.get(
        reverse("numbers:edit_label", args=[number.pk]), {"slot": "row"}, **HX
    ).content.decode()
    assert 'name="version" value="1"' in body and 'name="label" value="Main"' in body


def test_a_number_admin_edits_a_label_and_it_is_audited(client, number_admin, number):
    client.force_login(number_admin)
    response = save_label(client, number, "  Sales line  ")
    assert response.status_code == 200
    body = response.content.decode()
    assert f'id="row-{number.pk}"' in body and "Sales line" in body
    number.refresh_from_db()
    assert (number.label, number.version) == ("Sales line", 2)
    entry = AuditEntry.objects.get(object_type="numbers.phonenumber")
    assert (entry.actor_label, entry.source, entry.changes) == (
        "numbers@switchboard.test",
        "dashboard",
        {"label": ["Main", "Sales line"]},
    )
    assert entry.request_id and entry.object_id == str(number.pk)


def test_a_too_long_label_is_an_inline_error(client, number_admin, number):
    client.force_login(number_admin)
    response = save_label(client, number, "x" * 300)
    assert response.status_code == 200 and "at most 255 characters" in response.content.decode()
    number.refresh_from_db()
    assert (
        number.label == "Main"
        and not AuditEntry.objects.filter(object_type="numbers.phonenumber").exists()
    )


def test_a_stale_version_is_a_conflict_that_loses_nothing(client, number_admin, number, owner):
    client.force_login(number_admin)
    services.phone_number_update(
        number=PhoneNumber.objects.get(pk=number.pk),
        changes={"label": "Theirs"},
        actor=Actor("colleague", "api"),
    )
    response = save_label(client, number, "Mine", version=1)
    body = response.content.decode()
    assert "Someone changed this number" in body and "colleague" in body
    assert "“Main” → “Theirs”" in body
    assert 'name="version" value="2"' in body and 'value="Mine"' in body  # re-apply offered
    number.refresh_from_db()
    assert number.label == "Theirs"
    # Saving again applies it over theirs, knowingly.
    save_label(client, number, "Mine", version=2)
    number.refresh_from_db()
    assert (number.label, number.version) == ("Mine", 3)
    assert AuditEntry.objects.filter(object_type="numbers.phonenumber").count() == 2


def test_the_agent_picker_offers_only_the_owners_agents(
    client, number_admin, number, owner, other_tenant
):
    make_agent(owner, name="Desk")
    make_agent(other_tenant, name="Theirs")
    client.force_login(number_admin)
    body = client.get(
        reverse("numbers:edit_agent", args=[number.pk]), {"slot": "row"}, **HX
    ).content.decode()
    assert "Desk" in body and "Theirs" not in body
    options = client.get(
        reverse("numbers:agent_options", args=[number.pk]), {"agent_q": "des"}, **HX
    ).content.decode()
    assert "Desk" in options


def test_another_owners_agent_posted_by_hand_is_refused(client, number_admin, number, other_tenant):
    theirs = make_agent(other_tenant, name="Theirs")
    client.force_login(number_admin)
    response = client.post(
        reverse("numbers:save_agent", args=[number.pk]),
        {"agent": str(theirs.pk), "version": 1, "slot": "row"},
        **HX,
    )
    assert "Choose one of this number's owner's agents" in html.unescape(response.content.decode())
    number.refresh_from_db()
    assert number.inbound_agent is None


def test_assigning_an_agent_records_names_not_ids(client, number_admin, number, owner):
    desk = make_agent(owner, name="Desk")
    client.force_login(number_admin)
    client.post(
        reverse("numbers:save_agent", args=[number.pk]),
        {"agent": str(desk.pk), "version": 1, "slot": "panel"},
        **HX,
    )
    number.refresh_from_db()
    assert number.inbound_agent == desk
    assert AuditEntry.objects.get(object_type="numbers.phonenumber").changes == {
        "inbound_agent": [None, "Desk"]
    }


def test_support_cannot_edit_by_any_route(client, support, number, owner):
    desk = make_agent(owner)
    client.force_login(support)
    assert client.get(reverse("numbers:edit_label", args=[number.pk]), **HX).status_code == 403
    assert save_label(client, number, "Hacked").status_code == 403
    assert (
        client.post(
            reverse("numbers:bulk_review"),
            {"ids": [str(number.pk)], "kind": "inbound_agent", "agent": str(desk.pk)},
            **HX,
        ).status_code
        == 403
    )
    admin_url = reverse("admin:numbers_phonenumber_change", args=[number.pk])
    assert client.post(admin_url, {"label": "Hacked"}).status_code == 403
    number.refresh_from_db()
    assert (
        number.label == "Main"
        and not AuditEntry.objects.filter(object_type="numbers.phonenumber").exists()
    )


def test_support_sees_no_edit_controls_but_admins_do(client, support, number_admin, number):
    client.force_login(support)
    assert "data-edit-label" not in client.get(reverse("numbers:list")).content.decode()
    client.force_login(number_admin)
    assert "data-edit-label" in client.get(reverse("numbers:list")).content.decode()


def test_edit_endpoints_answer_404_and_405(client, number_admin):
    client.force_login(number_admin)
    missing = "00000000-0000-4000-8000-000000000000"
    assert client.get(reverse("numbers:edit_label", args=[missing])).status_code == 404
    assert client.get(reverse("numbers:save_label", args=[missing])).status_code == 405


def test_an_unknown_field_is_a_404(rf, number_admin, number):
    from console.number_edits import edit_field, save_field, show_field

    for view in (edit_field, show_field, save_field):
        request = rf.post("/", {"slot": "row"}) if view is save_field else rf.get("/")
        request.user = number_admin
        with pytest.raises(Http404):
            view(request, pk=number.pk, key="description")


# Each request reads the number once: a save updates the loaded number in place
# and a conflict shows the row the service read to report it.


def _selects(queries, table: str) -> list[str]:
    return [
        q["sql"] for q in queries if q["sql"].startswith("SELECT") and f'FROM "{table}"' in q["sql"]
    ]


@pytest.fixture
def linked(owner):
    """A number with every link a row shows: owner, agent (with its LLM connection), connection."""
    llm = make_connection(
        owner, type=ConnectionType.OPENAI, credentials={"api_key": "sk-" + "x" * 40}
    )
    desk = make_agent(owner, name="Desk", openai_account_connection=llm)
    make_agent(owner, name="Night")
    return make_number(
        owner,
        "+14155550199",
        label="Main",
        inbound_agent=desk,
        telephony_account_connection=make_connection(owner),
    )


def _save(client, field, linked, slot, version):
    """Post a save of ``field``; call it as ``with ...: send()`` to count only the request."""
    night = Agent.objects.get(name="Night")
    value = {"label": "Sales"} if field == "label" else {"agent": str(night.pk)}

    # The page shows the number in both places: the row and the open panel.
    shown = {"row_of": str(linked.pk), "panel_of": str(linked.pk)}

    def send():
        return client.post(
            reverse(f"numbers:save_{field}", args=[linked.pk]),
            {**value, "version": version, "slot": slot, **shown},
            **HX,
        )

    return send


@pytest.mark.parametrize("slot", ["row", "panel"])
@pytest.mark.parametrize("field", ["label", "agent"])
@pytest.mark.parametrize("action", ["edit", "show"])
def test_opening_or_cancelling_an_edit_reads_the_number_once(
    client, number_admin, linked, field, slot, action
):
    client.force_login(number_admin)
    url = reverse(f"numbers:{action}_{field}", args=[linked.pk])
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, {"slot": slot}, **HX)
    assert response.status_code == 200
    assert len(_selects(ctx.captured_queries, "numbers_phonenumber")) == 1
    assert not _selects(ctx.captured_queries, "agents_accountconnection")  # links came with it


@pytest.mark.parametrize("slot", ["row", "panel"])
@pytest.mark.parametrize("field", ["label", "agent"])
def test_a_save_reads_the_number_once_and_nothing_after_writing(
    client, number_admin, linked, field, slot
):
    client.force_login(number_admin)
    send = _save(client, field, linked, slot, version=1)
    with CaptureQueriesContext(connection) as ctx:
        response = send()
    assert response.status_code == 200 and 'class="saved"' in response.content.decode()
    queries = [q["sql"] for q in ctx.captured_queries]
    assert len(_selects(ctx.captured_queries, "numbers_phonenumber")) == 1
    written = next(i for i, sql in enumerate(queries) if sql.startswith('INSERT INTO "audit'))
    assert not [sql for sql in queries[written:] if sql.startswith("SELECT")]
    linked.refresh_from_db()
    assert linked.version == 2


@pytest.mark.parametrize("slot", ["row", "panel"])
@pytest.mark.parametrize("field", ["label", "agent"])
def test_a_conflict_shows_the_row_the_service_read(client, number_admin, linked, field, slot):
    services.phone_number_update(
        number=PhoneNumber.objects.get(pk=linked.pk),
        changes={"label": "Theirs"},
        actor=Actor("colleague", "api"),
    )
    client.force_login(number_admin)
    send = _save(client, field, linked, slot, version=1)
    with CaptureQueriesContext(connection) as ctx:
        response = send()
    body = response.content.decode()
    assert "Someone changed this number" in body and 'name="version" value="2"' in body
    # The view's read, and the service's read of the current row to report the conflict.
    assert len(_selects(ctx.captured_queries, "numbers_phonenumber")) == 2
    # Its links are the ones the view loaded: none is read again for showing. The
    # one read of a connection is phone_numbers.upkeep locking the graph rows an
    # agent change moves (its type decides the kept "misconfigured" column).
    reads = _selects(ctx.captured_queries, "agents_accountconnection")
    assert all('"agents_accountconnection"."type" AS "type"' in sql for sql in reads)
    assert len(reads) <= 1
    assert len(_selects(ctx.captured_queries, "users_user")) == 1  # the signed-in user


# Reasons (issue 15): every edit takes an optional reason, kept in its audit entry.


@pytest.mark.parametrize("key", ["label", "agent"])
def test_the_edit_form_asks_why(client, number_admin, number, key):
    client.force_login(number_admin)
    body = client.get(
        reverse(f"numbers:edit_{key}", args=[number.pk]), {"slot": "row"}, **HX
    ).content.decode()
    assert 'name="reason"' in body and 'placeholder="Reason (optional)"' in body


def test_an_inline_edit_records_its_reason(client, number_admin, number, owner):
    desk = make_agent(owner, name="Desk")
    client.force_login(number_admin)
    client.post(
        reverse("numbers:save_agent", args=[number.pk]),
        {"agent": str(desk.pk), "version": 1, "slot": "row", "reason": " SUP-1234 asked "},
        **HX,
    )
    entry = AuditEntry.objects.get(object_type="numbers.phonenumber")
    assert (entry.changes, entry.reason) == ({"inbound_agent": [None, "Desk"]}, "SUP-1234 asked")


def test_a_bad_reason_is_an_inline_error_and_saves_nothing(client, number_admin, number):
    client.force_login(number_admin)
    response = client.post(
        reverse("numbers:save_label", args=[number.pk]),
        {"label": "Sales", "version": 1, "slot": "row", "reason": "two\nlines"},
        **HX,
    )
    body = html.unescape(response.content.decode())
    assert "one line of text" in body and 'value="Sales"' in body
    number.refresh_from_db()
    assert number.label == "Main"
    assert not AuditEntry.objects.filter(object_type="numbers.phonenumber").exists()


def test_a_conflict_keeps_the_reason_typed(client, number_admin, number):
    services.phone_number_update(
        number=PhoneNumber.objects.get(pk=number.pk),
        changes={"label": "Theirs"},
        actor=Actor("colleague", "api"),
    )
    client.force_login(number_admin)
    response = client.post(
        reverse("numbers:save_label", args=[number.pk]),
        {"label": "Mine", "version": 1, "slot": "row", "reason": "SUP-7"},
        **HX,
    )
    assert 'name="reason" value="SUP-7"' in response.content.decode()
