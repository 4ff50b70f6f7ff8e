"""/numbers/export.csv: the whole filtered view, streamed and formula-safe."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from console.csvexport import csv_safe
from tests.factories import make_agent, make_number

pytestmark = pytest.mark.django_db


def rows(response) -> list[list[str]]:
    assert response.streaming
    text = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(text)))


def test_it_exports_every_page_of_the_filtered_sorted_view(client, support, owner):
    agent = make_agent(owner, name="Desk")
    for i in range(60):
        make_number(owner, f"+1303555{i:04d}", label=f"L{i:02d}", inbound_agent=agent)
    make_number(owner, "+12125550100", label="Other")
    client.force_login(support)
    response = client.get(reverse("numbers:export"), {"q": "303", "sort": "-label", "page": 2})
    assert response["Content-Type"] == "text/csv"
    assert "attachment" in response["Content-Disposition"]
    data = rows(response)
    assert data[0][:3] == ["number", "label", "owner"]
    assert len(data) == 61
    assert [r[1] for r in data[1:4]] == ["L59", "L58", "L57"]
    assert data[1][0] == "'+13035550059"  # a leading + is escaped like any formula start
    assert data[1][2] == "owner@acme.example" and data[1][3] == "Desk"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("x")', '\'=HYPERLINK("x")'),
        ("+1", "'+1"),
        ("-2", "'-2"),
        ("@SUM", "'@SUM"),
        ("\tx", "'\tx"),
        ("plain", "plain"),
        (None, ""),
    ],
)
def test_cells_that_start_a_formula_are_escaped(value, expected):
    assert csv_safe(value) == expected


def test_a_hostile_label_is_escaped_in_the_file(client, support, owner):
    make_number(owner, "+12125550100", label="=cmd|' /C calc'!A0")
    client.force_login(support)
    data = rows(client.get(reverse("numbers:export")))
    assert data[1][1] == "'=cmd|' /C calc'!A0"


def test_export_needs_the_view_permission(client, staff_without_permissions):
    client.force_login(staff_without_permissions)
    assert client.get(reverse("numbers:export")).status_code == 403
