"""Chosen columns: the chooser, and the header, rows and CSV that follow it."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import connection

from console.models import ColumnChoice
from tests.factories import make_agent, make_connection, make_number

pytestmark = pytest.mark.django_db
LIST = "/numbers/"
HX = {"HTTP_HX_REQUEST": "true"}


def _choose(client, shown, positions=None, next_query=""):
    data = {"show": shown, "next": next_query}
    data.update({f"pos_{k}": v for k, v in (positions or {}).items()})
    return client.post("/numbers/columns", data)


def _csv(client, query=""):
    response = client.get(f"/numbers/export.csv{query}")
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def _headers(body):
    head = body.split("<thead>", 1)[1].split("</thead>", 1)[0]
    return [h.split("<")[0].strip() for h in head.split('class="sort')[1:]]


def test_chosen_columns_drive_the_header_the_rows_and_the_csv(client, support, owner):
    make_number(owner, "+13035550100", label="Front desk", active=True)
    client.force_login(support)
    response = _choose(
        client, ["label", "active"], {"active": 1, "number": 2, "label": 3}, "active=yes"
    )
    assert response.status_code == 303 and response["Location"] == f"{LIST}?active=yes"
    assert ColumnChoice.objects.get(user=support).columns == "active,number,label"
    body = client.get(LIST, **HX).content.decode()
    head = body.split("<thead>", 1)[1].split("</thead>", 1)[0]
    assert head.index("Active") < head.index("Number") < head.index("Label")
    assert "Owner" not in head and "Provider" not in head
    row = body.split("<tbody>", 1)[1]
    assert row.index("badge ok") < row.index('title="+13035550100"') < row.index("Front desk")
    assert "owner@acme.example" not in row
    rows = _csv(client)
    assert rows[0] == ["active", "number", "label", "description", "id"]
    assert rows[1][:3] == ["yes", "'+13035550100", "Front desk"]


def test_the_number_always_shows(client, support):
    client.force_login(support)
    _choose(client, [])
    assert ColumnChoice.objects.get(user=support).columns == "number"


def test_the_default_columns_store_nothing(client, support):
    client.force_login(support)
    _choose(client, ["label"])
    _choose(
        client,
        ["label", "owner", "agent", "provider", "connection", "active", "outbound_only", "updated"],
    )
    assert not ColumnChoice.objects.exists()


def test_a_links_columns_win_over_the_users_and_the_csv_follows_them(client, support, owner):
    make_number(owner, "+13035550100")
    client.force_login(support)
    _choose(client, ["label"])
    body = client.get(LIST, {"cols": "number,owner"}, **HX).content.decode()
    assert "owner@acme.example" in body and "Columns: <strong>Number, Owner" in body
    assert _csv(client, "?cols=number,owner")[0] == ["number", "owner", "description", "id"]


def test_unknown_columns_are_dropped_with_the_notice(client, support):
    client.force_login(support)
    body = client.get(LIST, {"cols": "number,password"}).content.decode()
    assert "Ignored an invalid value for: Columns." in body


def test_bad_positions_are_form_errors(client, support):
    client.force_login(support)
    response = _choose(client, ["label"], {"label": 99})
    assert response.status_code == 200
    assert "Positions are whole numbers" in response.content.decode()
    assert not ColumnChoice.objects.exists()


def test_the_chooser_page_works_without_javascript(client, support):
    client.force_login(support)
    body = client.get("/numbers/columns").content.decode()
    assert '<details class="column-chooser" open>' in body
    assert 'name="pos_label"' in body


def test_the_feature_costs_the_inventory_one_query(
    client, support, owner, django_assert_num_queries
):
    agent = make_agent(owner)
    conn = make_connection(owner)
    for i in range(60):
        make_number(
            owner, f"+1303555{i:04d}", inbound_agent=agent, telephony_account_connection=conn
        )
    client.force_login(support)
    _choose(client, ["label", "agent"])
    client.post("/numbers/views/", {"name": "Mine", "query": "active=yes"})
    client.get(LIST)
    pg = connection.vendor == "postgresql"
    # session, user, permissions (2), the page, its count: 6 before the feature;
    # the columns and the views (one UNION ALL) are the 7th. PostgreSQL's planner
    # block and table size as in test_inventory_list.
    with django_assert_num_queries(7 + 4 * pg):
        client.get(LIST, **HX)
    # The full page also lists the owners for the filter (as before the feature).
    with django_assert_num_queries(8 + 4 * pg):
        client.get(LIST)
