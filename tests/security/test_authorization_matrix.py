"""Who gets what: every dashboard and admin URL x every kind of user, GET and POST."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import Client, RequestFactory

from tests.factories import (
    make_action,
    make_agent,
    make_connection,
    make_finished_export,
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

READ = {
    "home",
    "customers:detail",
    "numbers:list",
    "numbers:detail",
    "numbers:export",
    "numbers:show_label",
    "numbers:show_agent",
    "agents:list",
    "agents:detail",
    "agents:webhooks",
    "agents:webhook",
    "agents:connections",
    "agents:connection",
    "audit:list",
    "audit:export",
}
EDIT_FORMS = {
    "numbers:edit_label",
    "numbers:edit_agent",
    "numbers:agent_options",
}
# A bulk change's steps and its agent picker post the bulk form (console.number_bulk).
POST_ONLY = {
    "numbers:save_label",
    "numbers:save_agent",
    "numbers:bulk",
    "numbers:bulk_review",
    "numbers:bulk_apply",
    "numbers:bulk_agent_options",
}
# The revert page (GET) and the revert (POST): number admins; a refusal or conflict is a 200.
REVERT = {"audit:revert"}
# A staff member's own account and second factor: any staff member, no model permission.
# With STAFF_TOTP_REQUIRED off (the tests' default) nobody owes a code, so the
# verify page sends everyone on; tests/users/test_second_factor.py covers it on.
# Saved views (console.saved_views): saving one and choosing columns, any viewer
# (the empty POST: a form error, 200; no columns: only the number, saved, 303);
# the view's page and its delete, its creator or a number admin (the matrix's view is
# a number admin's shared view: support sees it but may not change it).
VIEW_FORMS = {"numbers:view_save": (405, 200), "numbers:columns": (200, 303)}
VIEW_CHANGES = {"numbers:view_edit": (200, 200), "numbers:view_delete": (405, 200)}
OWN_ACCOUNT = {"account:detail": 200, "account:verify": 302, "account:setup": 200}
# /metrics is off (404) without METRICS_TOKEN, as here; with it, bearer-only
# (tests/core/test_metrics.py).
PUBLIC = {"login": 200, "healthz": 200, "logout": 405, "favicon": 302, "metrics": 404}
# Background jobs (console.jobs): the list, any staff member; the matrix's job is a
# number admin's finished export: its page for its owner and superusers (others 404),
# its file for its owner only; cancel and retry (POST) answer with a redirect to the
# page (a succeeded job is not retried: the page says so), for the same people.
JOB_PAGES = {"jobs:list", "jobs:detail", "jobs:download"}


@pytest.fixture
def world(db):
    owner = User.objects.create_user("ops@acme.example", "pw-123456789")
    conn = make_connection(owner)
    webhook = make_webhook(owner)
    agent = make_agent(
        owner,
        webhook=webhook,
        openai_account_connection=conn,
        prompt=make_prompt(owner, prompt_template=make_template(owner)),
    )
    agent.actions.add(make_action(owner))
    number = make_number(owner, inbound_agent=agent, telephony_account_connection=conn)
    api_token_create(user=owner)
    from audit.services import Actor, record

    entry = record(actor=Actor("setup", "dashboard"), obj=number, changes={"label": ["", "x"]})
    groups = ensure_roles()
    users = {
        "anonymous": None,
        "customer": owner,
        "superuser": User.objects.create_superuser("root@x.test", "pw-123456789"),
    }
    for role, group in (("support", "Support"), ("number_admin", "Number admins")):
        user = User.objects.create_user(f"{role}@x.test", "pw-123456789", is_staff=True)
        user.groups.add(groups[group])
        users[role] = user
    Client().post("/login/", {"username": "root@x.test", "password": "wrong"})
    from console.models import SavedView

    view = SavedView.objects.create(
        created_by=users["number_admin"], name="Team view", query="active=yes", shared=True
    )
    job = make_finished_export(users["number_admin"])
    make_task_result(job)
    objects = {
        "numbers": number,
        "agents:detail": agent,
        "agents:webhook": webhook,
        "agents:connection": conn,
        "audit": entry,
        "customers": owner,
        "numbers:view_edit": view,
        "numbers:view_delete": view,
        "jobs": job,
        "imports": job,
    }
    return users, objects


def admin_expected(user: User | None, name: str) -> int:
    if name == "admin:login" and user is not None and not user.is_staff:
        return 403  # a signed-in customer: sending them to /login/ would loop
    if user is None or not user.is_staff:
        return 302  # the admin signs in through /login/ (users.second_factor.StaffAdminSite)
    if name in ("admin:login", "admin:index", "admin:password_change", "admin:jsi18n"):
        return 302 if name == "admin:login" else 200
    if name in ("admin:logout",):
        return 405
    if name == "admin:password_change_done":
        return 200
    if name == "admin:autocomplete":
        return 403  # without its parameters
    if name == "admin:app_list":
        return 200 if user.has_module_perms("agents") else 404
    request = RequestFactory().get("/")
    request.user = user
    for model, model_admin in admin.site._registry.items():
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}_"
        if name.startswith(prefix):
            view = name[len(prefix) :]
            allowed = {
                "changelist": model_admin.has_view_or_change_permission(request),
                "history": model_admin.has_view_or_change_permission(request),
                "change": model_admin.has_view_or_change_permission(request),
                "add": model_admin.has_add_permission(request),
                "delete": model_admin.has_delete_permission(request),
            }.get(view)
            if allowed is None:
                break
            return 200 if allowed else 403
    if name.endswith("_password_change"):
        return 200 if user.has_perm("users.change_user") else 403
    raise AssertionError(f"no rule for {name}: add one to the matrix")


def dashboard_expected(user: User | None, name: str, method: str) -> int:
    if name == "login":
        return 302 if user is not None else 200  # signed-in users are sent on
    if name in PUBLIC:
        if method == "POST" and name in ("logout", "favicon"):
            return 302  # /favicon.ico redirects whatever the method
        return PUBLIC[name] if method == "GET" else 405
    if method == "GET" and name in POST_ONLY:
        return 405
    for table in (VIEW_FORMS, VIEW_CHANGES):
        if name in table and table[name][method == "POST"] == 405:
            return 405
    if method == "POST" and name in READ | EDIT_FORMS | JOB_PAGES | {"account:detail"}:
        return 405
    if method == "GET" and name in (
        "jobs:cancel",
        "jobs:retry",
        "numbers:export_job",
        "imports:apply",
    ):
        return 405
    if user is None:
        # The matrix sends HX-Request: the whole page goes to sign in, by HX-Redirect
        # (console.access; tests/console/test_expired_sessions.py).
        return 200
    if name in OWN_ACCOUNT:
        return OWN_ACCOUNT[name] if user.is_staff else 403
    can_view = user.is_staff and user.has_perms(["numbers.view_phonenumber"])
    can_edit = can_view and user.has_perm("numbers.change_phonenumber")
    if name in READ:
        return 200 if can_view else 403
    if name in VIEW_FORMS:
        return VIEW_FORMS[name][method == "POST"] if can_view else 403
    if name in VIEW_CHANGES:
        return VIEW_CHANGES[name][method == "POST"] if can_edit else 403
    if name in EDIT_FORMS | POST_ONLY | REVERT:
        return 200 if can_edit else 403
    if name == "numbers:export_job":
        return 302 if can_view else 403  # to the new job's page
    if name.startswith("jobs:"):
        return _job_expected(user, name)
    if name.startswith("imports:"):
        # Imports (console.imports): number admins only. The empty upload is a form
        # error (400); the matrix's job is an export, not a preview: Apply finds none.
        if not can_edit:
            return 403
        if name == "imports:apply":
            return 404
        return 400 if method == "POST" else 200
    raise AssertionError(f"no rule for {name}: add one to the matrix")


def _job_expected(user: User, name: str) -> int:
    if not user.is_staff:
        return 403
    if name == "jobs:list":
        return 200
    owner = user.email == "number_admin@x.test"
    if name == "jobs:download":
        return 200 if owner else 404
    if not (owner or user.is_superuser):
        return 404
    return 302 if name in ("jobs:cancel", "jobs:retry") else 200


def test_every_url_answers_each_kind_of_user_as_expected(world):
    users, objects = world
    mismatches = []
    for route in routes(objects):
        # The API and the bench's API peers (devtools) take bearer tokens, not sessions:
        # tests/api and tests/devtools/test_bench.py check who they answer.
        if route.name.startswith(("api:", "bench:")) or route.name == "admin:view_on_site":
            continue
        for role, user in users.items():
            client = Client(raise_request_exception=False)
            if user is not None:
                client.force_login(user)
            if route.name.startswith("admin:"):
                methods = [("GET", admin_expected(user, route.name))]
            else:
                methods = [(m, dashboard_expected(user, route.name, m)) for m in ("GET", "POST")]
            for method, expected in methods:
                response = getattr(client, method.lower())(route.url, HTTP_HX_REQUEST="true")
                if response.status_code != expected:
                    mismatches.append((role, method, route.name, response.status_code, expected))
    assert mismatches == [], "\n".join(map(str, mismatches))


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/v1/numbers?phone_number=%2B1{n}", None),
        ("post", "/v1/numbers/update?phone_number=%2B1{n}", '{"label": "x"}'),
        ("get", "/v1/agents?id={agent}", None),
    ],
)
def test_another_tenants_ids_answer_exactly_like_missing_ones(client, world, method, path, body):
    _users, objects = world
    other = User.objects.create_user("ops@globex.example")
    _, token = api_token_create(user=other)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    kwargs = {"content_type": "application/json"} if body else {}
    theirs = path.format(n=objects["numbers"].number[2:], agent=objects["agents:detail"].pk)
    missing = path.format(n="9999999999", agent="00000000-0000-4000-8000-000000000000")
    a = (
        getattr(client, method)(theirs, body, **kwargs, **auth)
        if body
        else getattr(client, method)(theirs, **auth)
    )
    b = (
        getattr(client, method)(missing, body, **kwargs, **auth)
        if body
        else getattr(client, method)(missing, **auth)
    )
    assert (a.status_code, a.json()) == (b.status_code, b.json())
    assert a.status_code == 404
