"""An edit's answer carries out-of-band parts only where the page has their targets (issue 15).

The trap: a row save always sent the detail panel's cells out of band, and a panel
save always sent the row; with no panel open, or on the full detail page (no
rows), htmx logged ``htmx:oobErrorNoTarget`` in the browser console. The edit
form now includes what the page shows (the open panel's ``panel_of``, the row's
``row_of``, by hx-include) and the answer follows it.
"""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

from tests.factories import make_number

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def number(owner):
    return make_number(owner, "+14155550123", label="Main")


def save(client, number, slot, **shown):
    label = "Sales" if number.label != "Sales" else "Sales 2"
    return client.post(
        reverse("numbers:save_label", args=[number.pk]),
        {"label": label, "version": number.version, "slot": slot, **shown},
        **HX,
    ).content.decode()


def test_a_row_save_updates_the_panel_only_when_it_shows_this_number(client, number_admin, number):
    client.force_login(number_admin)
    body = save(client, number, "row")  # no panel open
    assert "Sales" in body and "hx-swap-oob" not in body
    number.refresh_from_db()
    assert "hx-swap-oob" not in save(client, number, "row", panel_of=str(uuid.uuid4()))
    number.refresh_from_db()
    body = save(client, number, "row", panel_of=str(number.pk))
    assert f'<div id="panel-label-{number.pk}" hx-swap-oob="innerHTML">' in body


def test_a_panel_save_sends_the_row_only_when_the_list_shows_it(client, number_admin, number):
    """Without it: the full detail page (no list), or a panel whose row the list no
    longer shows."""
    client.force_login(number_admin)
    body = save(client, number, "panel")
    assert "Sales" in body and "hx-swap-oob" not in body and "<template>" not in body
    number.refresh_from_db()
    body = save(client, number, "panel", row_of=str(number.pk))
    assert f'<template>\n<tr tabindex="0" id="row-{number.pk}" hx-swap-oob="true"' in body


def test_the_page_marks_what_it_shows_and_the_forms_include_it(client, number_admin, number):
    client.force_login(number_admin)
    rows = client.get(reverse("numbers:list")).content.decode()
    assert f'<input type="hidden" name="row_of" value="{number.pk}">' in rows
    panel = client.get(reverse("numbers:detail", args=[number.pk]), **HX).content.decode()
    assert f'<input type="hidden" name="panel_of" value="{number.pk}">' in panel
    page = client.get(reverse("numbers:detail", args=[number.pk])).content.decode()
    assert 'name="panel_of"' not in page  # the full page is no panel
    edit = reverse("numbers:edit_label", args=[number.pk])
    row_form = client.get(edit, {"slot": "row"}, **HX).content.decode()
    assert 'hx-include="closest form, #panel [name=panel_of]"' in row_form
    panel_form = client.get(edit, {"slot": "panel"}, **HX).content.decode()
    assert f'hx-include="closest form, #row-{number.pk} [name=row_of]"' in panel_form
