"""/customers/<id>/: one customer account: its numbers and their findings (each count a
link to the inventory filtered to exactly those numbers), agents, webhooks,
connections (masked), API tokens (never the secret) and the recent changes of its
objects; reachable from every owner the console shows (issue 16)."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEntry
from audit.services import Actor
from tests.console.health_data import (
    EXPECTED,
    OPENAI_SECRET,
    TWILIO_SECRET,
    audited_change,
    hrefs,
    make_inventory,
)
from tests.factories import make_agent, make_number, make_user
from users.models import ApiToken
from users.services import api_token_create, user_save

pytestmark = pytest.mark.django_db


@pytest.fixture
def inventory(owner, other_tenant):
    return make_inventory(owner, other_tenant)


def url_of(user) -> str:
    return reverse("customers:detail", args=[user.pk])


def page(client, viewer, user) -> str:
    client.force_login(viewer)
    response = client.get(url_of(user))
    assert response.status_code == 200
    return response.content.decode()


def part(html: str, anchor: str) -> str:
    """The page from the heading with this id to the next heading."""
    start = html.index(f'id="{anchor}"')
    end = html.find("<h3", start + 1)
    return html[start : end if end != -1 else len(html)]


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def listed_numbers(client, url: str) -> set[str]:
    return set(re.findall(r'data-open title="(\+\d+)"', client.get(url).content.decode()))


def test_it_shows_the_account_and_links_to_its_numbers(client, support, inventory):
    html = page(client, support, inventory.acme)
    assert "owner@acme.example" in html and str(inventory.acme.pk) in html
    link = re.search(r'<a href="([^"]+)" data-numbers>(\d+) numbers</a>', html)
    assert link and int(link.group(2)) == 11
    assert query_of(link.group(1)) == {"owner": str(inventory.acme.pk)}
    assert len(listed_numbers(client, link.group(1))) == 11


def test_each_finding_count_links_to_exactly_its_numbers_of_this_customer(
    client, support, inventory
):
    html = part(page(client, support, inventory.acme), "health")
    acme = {name for name, n in inventory.numbers.items() if n.user_id == inventory.acme.pk}
    by_number = {n.number: name for name, n in inventory.numbers.items()}
    for key, expected in EXPECTED.items():
        mine = expected & acme
        card = re.search(
            rf'data-finding="{key}">\s*<a href="([^"]+)"><strong class="count">(\d+)</strong>', html
        )
        assert card, key
        url = card.group(1).replace("&amp;", "&")
        assert int(card.group(2)) == len(mine)
        assert query_of(url) == {"owner": str(inventory.acme.pk), "health": key}
        assert {by_number[n] for n in listed_numbers(client, url)} == mine
    # per provider, with the owner kept in every link
    for url in hrefs(html):
        if "provider=" in url:
            assert query_of(url)["owner"] == str(inventory.acme.pk)


def test_a_customer_without_findings_shows_zeros_without_links(client, support):
    calm = make_user("calm@example.com")
    make_number(calm, "+14155550150", outbound_only=True)
    html = part(page(client, support, calm), "health")
    assert "?health=" not in html
    assert html.count('<strong class="count">0</strong>') == 4


def test_it_lists_agents_webhooks_and_connections_with_their_pages(client, support, inventory):
    html = page(client, support, inventory.acme)
    links = hrefs(html)
    for name in ("desk", "no_hook", "wrong_llm"):
        assert reverse("agents:detail", args=[inventory.objects[name].pk]) in links
    assert reverse("agents:webhook", args=[inventory.objects["hook"].pk]) in links
    for name in ("twilio", "telnyx", "api_key", "openai"):
        assert reverse("agents:connection", args=[inventory.objects[name].pk]) in links
    assert "Globex desk" not in html  # another customer's agent
    assert "Agents (3)" in html and "Webhooks (1)" in html and "Account connections (4)" in html


def test_credentials_show_only_their_masked_preview(client, support, inventory):
    html = part(page(client, support, inventory.acme), "connections")
    assert "twilio_auth_token" in html and "openai_api_key" in html
    assert TWILIO_SECRET not in html and OPENAI_SECRET not in html
    assert TWILIO_SECRET[-4:] in html  # the preview's last 4 characters, after the dots
    assert inventory.objects["twilio"].credentials_preview["twilio_auth_token"] in html


def test_tokens_show_prefix_scope_and_dates_never_the_secret_or_its_hash(
    client, support, inventory
):
    token, secret = api_token_create(user=inventory.acme, name="CRM sync")
    token.last_used_at = timezone.now()
    token.expires_at = timezone.now() + timedelta(days=30)
    token.save()
    api_token_create(user=inventory.globex, name="Globex")
    html = part(page(client, support, inventory.acme), "tokens")
    stored = ApiToken.objects.get(pk=token.pk)
    assert f"sb_{token.prefix}_…" in html
    assert "CRM sync" in html and "Read and write" in html
    assert f"{token.expires_at:%Y-%m-%d}" in html and "active" in html
    assert f"{timezone.localtime(token.last_used_at):%Y-%m-%d %H:%M}" in html
    assert secret not in html and secret.split("_", 2)[2] not in html
    assert stored.secret_hash not in html
    assert "Globex" not in html


def test_the_recent_changes_are_those_of_its_objects_with_their_reasons(client, support, inventory):
    audited_change(inventory.numbers["nowhere"], "Lobby", reason="SUP-9 rename")
    audited_change(inventory.numbers["globex_nowhere"], "Theirs", reason="SUP-10 elsewhere")
    inventory.acme.name = "Acme Corp"
    user_save(
        user=inventory.acme, actor=Actor("root@switchboard.test", "admin", reason="SUP-11 name")
    )
    html = part(page(client, support, inventory.acme), "changes")
    assert "SUP-9 rename" in html and "SUP-11 name" in html
    assert "SUP-10 elsewhere" not in html
    entry = AuditEntry.objects.get(reason="SUP-9 rename")
    assert f'href="/audit/?entry={entry.pk}"' in html
    trail = f"/audit/?owner={inventory.acme.pk}"
    assert trail in hrefs(html)
    listed = client.get(trail).content.decode()
    assert "SUP-9 rename" in listed and "SUP-11 name" in listed
    assert "SUP-10 elsewhere" not in listed


def test_an_agents_owner_links_to_the_account_page(client, support, inventory):
    client.force_login(support)
    url = url_of(inventory.acme)
    desk, hook, conn = (inventory.objects[k] for k in ("desk", "hook", "twilio"))
    for page_url in (
        reverse("agents:detail", args=[desk.pk]),
        reverse("agents:webhook", args=[hook.pk]),
        reverse("agents:connection", args=[conn.pk]),
        reverse("agents:list"),
        reverse("agents:webhooks"),
        reverse("agents:connections"),
        "/",
    ):
        assert url in hrefs(client.get(page_url).content.decode()), page_url


def test_a_long_agent_list_shows_the_first_ones_and_links_to_all(client, support, owner):
    for i in range(25):
        make_agent(owner, name=f"Agent {i:02d}")
    html = part(page(client, support, owner), "agents")
    assert "Agents (25)" in html
    assert len(re.findall(r"href=\"/agents/[0-9a-f-]{36}/\"", html)) == 20
    assert f"/agents/?owner={owner.pk}" in hrefs(html)


def test_an_unknown_account_is_a_404(client, support):
    client.force_login(support)
    assert client.get("/customers/00000000-0000-4000-8000-000000000000/").status_code == 404
    assert client.get("/customers/not-an-id/").status_code == 404


def test_it_needs_staff_who_may_view_accounts_numbers_agents_and_the_trail(
    client, owner, staff_without_permissions
):
    url = url_of(owner)
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    client.force_login(owner)
    assert client.get(url).status_code == 403
    viewer = make_user("viewer@switchboard.test", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_phonenumber"))
    client.force_login(viewer)
    assert client.get(url).status_code == 403
    client.force_login(staff_without_permissions)
    assert client.get(url).status_code == 403


def test_it_answers_only_get(client, support, owner):
    client.force_login(support)
    assert client.post(url_of(owner)).status_code == 405


def queries_for(client, path: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured.captured_queries)


def test_it_reads_a_constant_number_of_queries_whatever_the_account_holds(
    client, support, inventory
):
    client.force_login(support)
    audited_change(inventory.numbers["fine"], "One", reason="why")
    small = queries_for(client, url_of(inventory.acme))
    for i in range(30):
        make_agent(inventory.acme, name=f"More {i}")
        make_number(inventory.acme, f"+1415888{i:04d}")
        api_token_create(user=inventory.acme, name=f"t{i}")
        audited_change(inventory.numbers["fine"], f"Again {i}", reason="why")
    # session, user, permissions (2), the account, findings by provider, the number
    # count, tokens, the owned counts, agents, webhooks, connections, the recent
    # changes and which of them were reverted
    assert queries_for(client, url_of(inventory.acme)) == small == 14


def test_the_trail_links_an_accounts_entries_and_its_email_to_its_page(client, support, owner):
    owner.name = "Acme Corp"
    user_save(user=owner, actor=Actor("root@switchboard.test", "admin", reason="rename"))
    client.force_login(support)
    html = client.get("/audit/", {"object_type": "users.user"}).content.decode()
    assert url_of(owner) in hrefs(html)
