"""The inventory's table fragment: what it reads and what it sends beside the table.

A fragment reads no preferences when the page says whose columns it shows (the
X-Inventory-Columns header numbers/list.html sends with every htmx request); the
saved views beside the list are not read again, only the parts that depend on the
list go out of band (numbers/_views_state.html). Rows come from one renderer per
column (console.number_cells), which escapes what it prints.
"""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext

from console.models import ColumnChoice, SavedView
from console.queries import COLUMNS_HEADER, query_key
from tests.factories import make_number

pytestmark = pytest.mark.django_db
LIST = "/numbers/"
HX = {"HTTP_HX_REQUEST": "true"}
HEADER = "HTTP_" + COLUMNS_HEADER.upper().replace("-", "_")


def _preference_queries(client, query="", **headers) -> tuple[list[str], str]:
    with CaptureQueriesContext(connection) as captured:
        body = client.get(f"{LIST}{query}", **HX, **headers).content.decode()
    sql = [q["sql"] for q in captured.captured_queries]
    return [s for s in sql if "console_columnchoice" in s or "console_savedview" in s], body


def _cells_of_first_row(body: str) -> list[str]:
    row = body.split('<tr tabindex="0"', 1)[1].split("</tr>", 1)[0]
    return re.findall(r'<td(?: class="([^"]*)")?>', row)


@pytest.fixture
def listed(client, support, owner):
    make_number(owner, "+13035550100", label="Front desk", active=True)
    client.force_login(support)
    ColumnChoice.objects.create(user=support, columns="number,label,active")
    SavedView.objects.create(created_by=support, name="Active", query="active=yes")
    return client


def test_a_fragment_with_the_pages_columns_reads_no_preferences(listed):
    read, body = _preference_queries(listed, **{HEADER: "number,label"})
    assert read == []
    assert _cells_of_first_row(body) == ["num", "wrap label"]


def test_without_the_header_a_fragment_reads_the_columns_and_not_the_views(listed):
    read, body = _preference_queries(listed)
    assert len(read) == 1 and "console_columnchoice" in read[0]
    assert _cells_of_first_row(body) == ["num", "wrap label", ""]  # number, label, active


def test_a_header_that_is_not_a_column_list_is_ignored(listed):
    read, body = _preference_queries(listed, **{HEADER: "label,bogus"})
    assert len(read) == 1
    assert _cells_of_first_row(body) == ["num", "wrap label", ""]


def test_the_links_own_columns_win_over_the_header(listed):
    read, body = _preference_queries(listed, "?cols=number,active", **{HEADER: "number,label"})
    assert read == []
    assert _cells_of_first_row(body) == ["num", ""]


def test_the_fragment_sends_the_lists_state_out_of_band_not_the_views(listed):
    body = listed.get(f"{LIST}?active=yes", **HX, **{HEADER: "number"}).content.decode()
    assert 'aria-label="Saved views"' not in body  # the views are not rendered again
    assert '<input type="hidden" id="view-query" name="query" value="active=yes"' in body
    assert '<input type="hidden" id="columns-next" name="next" value="active=yes"' in body
    key = query_key(QueryDict("active=yes"))
    assert f'<span id="view-state" hidden data-view-key="{key}" hx-swap-oob="true">' in body


def test_the_whole_page_marks_the_open_view_and_keys_every_view(listed):
    body = listed.get(f"{LIST}?active=yes").content.decode()
    key = query_key(QueryDict("active=yes"))
    assert f'aria-current="page" data-view data-view-key="{key}">Active</a>' in body
    assert f'<span id="view-state" hidden data-view-key="{key}"></span>' in body
    # The page tells its htmx requests whose columns it shows.
    assert """hx-headers='{"X-Inventory-Columns": "number,label,active"}'""" in body


def test_a_views_key_does_not_depend_on_the_order_of_its_parameters():
    assert query_key(QueryDict("b=2&a=1&a=0")) == query_key(QueryDict("a=1&a=0&b=2"))
    assert query_key(QueryDict("a=0&a=1")) != query_key(QueryDict("a=1&a=0"))


def test_sort_links_keep_the_filters_and_drop_the_page(listed):
    body = listed.get(f"{LIST}?q=Front&page=2&sort=label", **HX).content.decode()
    assert 'href="?q=Front&amp;sort=-label"' in body  # the sorted column flips
    assert 'href="?q=Front&amp;sort=number"' in body


def test_cells_escape_what_a_customer_typed(client, support, owner):
    make_number(owner, "+13035550101", label='<b onclick="x">Desk</b>')
    client.force_login(support)
    body = client.get(LIST, **HX).content.decode()
    assert "<b onclick" not in body
    assert "&lt;b onclick=&#34;x&#34;&gt;Desk&lt;/b&gt;" in body
