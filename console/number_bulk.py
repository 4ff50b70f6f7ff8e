"""Bulk changes of the inventory's numbers, in steps a person can check.

1. Select: tick rows, or "all N matching the filters"; pick what to change
   (the bar above the table: assign an agent, set active, set outbound-only,
   prefix labels).
2. Choose (``bulk_choose``): the value, for how many numbers of how many
   customers. The agent picker offers the selection's customers' agents only.
3. Review (``bulk_review``): ``phone_numbers.bulk.plan_bulk`` reads the targets
   and says how many numbers of how many customers change and how many are
   already so; the plan's ``(id, version)`` targets travel to the next step as
   one signed value (``sign_plan``: django.core.signing, compressed), not as
   thousands of fields (DATA_UPLOAD_MAX_NUMBER_FIELDS is 1,000). A refusal
   (an agent of another customer) comes back to step 2, naming the numbers.
4. Apply (``bulk_apply``): ``apply_bulk`` over the signed targets, with the
   reason given; the result says how many changed, how many were already so,
   and lists each refused number with why.

Every step posts the same form (``#bulk``, the rows' checkboxes belong to it)
to a URL carrying the list's query string, so the answer is the same list with
the step above the table: the ``#results`` fragment with htmx, the whole page
without JavaScript. The selection stays ticked through every step and after a
refusal; it is cleared only once everything was applied.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from agents.models import Agent
from audit.models import Source
from audit.services import Actor
from console.access import staff_view
from console.bulk_tasks import StoredTargets, start_bulk_job
from console.forms.number_bulk import KIND_LABELS, VALUE_FIELDS, BulkApplyForm, BulkChangeForm
from console.forms.number_bulk import selected_ids as ticked_ids
from console.forms.numbers import NumberFilterForm
from console.numbers import inventory_response
from phone_numbers import queries
from phone_numbers.bulk import (
    BULK_JOB_LIMIT,
    BULK_LIMIT,
    BulkChange,
    BulkPlan,
    BulkRejected,
    BulkResult,
    BulkSelection,
    apply_bulk,
    plan_bulk,
    read_selection,
)
from users.models import User

VIEW = "numbers.view_phonenumber"
CHANGE = "numbers.change_phonenumber"
PLAN_SALT = "console.number_bulk.plan"
PLAN_MAX_AGE = 30 * 60  # seconds a confirmation stays valid
NAMED_CUSTOMERS = 3  # customers named in a step; beyond, only counted
REFUSED_SHOWN = 500  # refused numbers listed in a result; beyond, counted


class PlanUnreadable(Exception):
    """The signed plan is damaged, another user's, or too old; nothing was changed."""


@dataclass
class Selection:
    """What the form selects: ticked rows, or every number matching the list's filters."""

    all: bool
    ids: list[str]
    filters: NumberFilterForm

    @property
    def numbers(self) -> Any:
        if self.all:
            sort, desc = self.filters.sort
            return queries.inventory(filters=self.filters.filters(), sort=sort, desc=desc)
        return self.ids


@dataclass
class BulkStep:
    """One step of a bulk change, as ``numbers/_bulk.html`` shows it."""

    step: str = ""  # "", "choose", "confirm" or "result"
    kind: str = ""
    error: str = ""
    refused_numbers: list[str] = field(default_factory=list)
    form: BulkChangeForm | None = None
    selection: BulkSelection | None = None
    customers: int = 0
    customer_emails: list[str] = field(default_factory=list)
    plan: BulkPlan | None = None
    apply_form: BulkApplyForm | None = None
    result: BulkResult | None = None
    change: BulkChange | None = None

    sync_limit = BULK_LIMIT

    @property
    def as_job(self) -> bool:
        """Past the synchronous limit the confirmed change runs as a background job."""
        return self.plan is not None and len(self.plan.targets) > self.sync_limit

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, "")

    @property
    def describe(self) -> str:
        return self.change.describe() if self.change else ""

    @property
    def values(self) -> list[tuple[str, str]]:
        """The change's fields as posted, carried as hidden inputs (Back keeps them)."""
        if self.form is None:
            return []
        return [(name, self.form.value_of(name)) for name in VALUE_FIELDS]

    @property
    def outcome(self) -> tuple[str, str]:
        """The result's banner: its kind and its sentence. Nothing changed is never a
        success ("Routed 0 numbers" once was)."""
        result, change = self.result, self.change
        if result is None or change is None:
            return "", ""
        if result.changed:
            return ("warn" if result.refused else "success"), f"Done: {result.summary(change)}"
        parts = []
        if result.already:
            parts.append(f"{_count(result.already)} already so")
        if result.refused:
            parts.append(f"{_count(len(result.refused))} refused")
        return ("error" if result.refused else "info"), (
            f"Nothing was changed ({change.describe()}): {'; '.join(parts) or 'no number left'}."
        )

    @property
    def refused_shown(self) -> list[tuple[str, str]]:
        return self.result.refused[:REFUSED_SHOWN] if self.result else []

    @property
    def refused_more(self) -> int:
        return max(0, len(self.result.refused) - REFUSED_SHOWN) if self.result else 0


def _count(n: int) -> str:
    return f"{n:,} number{'' if n == 1 else 's'}"


def _selection(request: HttpRequest) -> Selection:
    return Selection(
        all=request.POST.get("all") == "on",
        ids=ticked_ids(request.POST),
        filters=NumberFilterForm(request.GET),
    )


def _respond(request: HttpRequest, selection: Selection, bulk: BulkStep) -> HttpResponse:
    """The list (the page the form was posted from, by its query string) with the step
    above its table, and the selection still ticked: cleared only once a change was
    applied to every number (a refusal keeps it, to try again)."""
    keep = not (bulk.result and not bulk.result.refused)
    return inventory_response(
        request,
        selection.filters,
        fragment=bool(request.htmx),
        bulk=bulk,
        selected=selection.ids if keep else [],
        bulk_all=selection.all and keep,
    )


def _customer_emails(owner_ids: Any) -> list[str]:
    """The customers' emails, when there are few enough to name."""
    if len(owner_ids) > NAMED_CUSTOMERS:
        return []
    users = User.objects.filter(pk__in=list(owner_ids)).order_by("email")
    return list(users.values_list("email", flat=True))


def _read(selection: Selection, kind: str) -> tuple[BulkSelection | None, str]:
    """The selection's size and owners, or why no change can start from it."""
    if not selection.all and not selection.ids:
        return None, "Select numbers first: tick rows, or “all matching the filters”."
    found = read_selection(numbers=selection.numbers, limit=BULK_JOB_LIMIT)
    if not found.count and selection.all:
        return None, "No number matches the filters. Nothing was changed."
    if not found.count:
        return None, "None of the selected numbers exists any more. Nothing was changed."
    if found.over_limit:
        return None, (
            f"More than {found.limit:,} numbers are selected; a bulk change is limited to "
            f"{found.limit:,} at a time (past {BULK_LIMIT:,} it runs as a background job). "
            "Narrow the filters. Nothing was changed."
        )
    if kind not in KIND_LABELS:
        return None, "Choose what to change."
    return found, ""


@require_POST
@staff_view(VIEW, CHANGE)
def bulk_choose(request: HttpRequest) -> HttpResponse:
    """Step 2: the value of the change (Cancel: back to the bar, selection kept)."""
    selection = _selection(request)
    if request.POST.get("cancel"):
        return _respond(request, selection, BulkStep())
    kind = request.POST.get("kind", "")
    found, error = _read(selection, kind)
    if found is None:
        return _respond(request, selection, BulkStep(error=error))
    # Back from the confirmation keeps what was chosen (initial: no errors shown).
    initial = {name: request.POST.get(name, "") for name in ("kind", *VALUE_FIELDS)}
    form = BulkChangeForm(initial=initial, owner_ids=found.owner_ids)
    return _respond(request, selection, _choose_step(kind, form, found))


def _choose_step(kind: str, form: BulkChangeForm, found: BulkSelection, **more: Any) -> BulkStep:
    return BulkStep(
        step="choose",
        kind=kind,
        form=form,
        selection=found,
        customers=len(found.owner_ids),
        customer_emails=_customer_emails(found.owner_ids),
        **more,
    )


@require_POST
@staff_view(VIEW, CHANGE)
def bulk_review(request: HttpRequest) -> HttpResponse:
    """Step 3: what the change would do (``plan_bulk``), to confirm with a reason."""
    selection = _selection(request)
    kind = request.POST.get("kind", "")
    found, error = _read(selection, kind)
    if found is None:
        return _respond(request, selection, BulkStep(error=error))
    form = BulkChangeForm(request.POST, owner_ids=found.owner_ids)
    if not form.is_valid() or form.change is None:
        return _respond(request, selection, _choose_step(kind, form, found))
    try:
        plan = plan_bulk(numbers=selection.numbers, change=form.change, limit=BULK_JOB_LIMIT)
    except BulkRejected as refusal:
        step = _choose_step(kind, form, found, error=str(refusal), refused_numbers=refusal.numbers)
        return _respond(request, selection, step)
    emails = _customer_emails(found.owner_ids) if plan.customers == len(found.owner_ids) else []
    try:
        token = sign_plan(plan, user=request.user, customer_emails=emails)
    except OSError as exc:  # a big plan goes to storage: a full disk says so
        error = f"The change could not be prepared: {exc.strerror}. Nothing was changed."
        return _respond(request, selection, _choose_step(kind, form, found, error=error))
    step = BulkStep(
        step="confirm",
        kind=kind,
        form=form,
        plan=plan,
        change=plan.change,
        customers=plan.customers,
        customer_emails=emails,
        apply_form=BulkApplyForm(initial={"plan": token}),
    )
    return _respond(request, selection, step)


@require_POST
@staff_view(VIEW, CHANGE)
def bulk_apply(request: HttpRequest) -> HttpResponse:
    """Step 4: apply the confirmed plan (``apply_bulk``, compare-and-set per number
    against the versions reviewed) and say what happened."""
    selection = _selection(request)
    apply_form = BulkApplyForm(request.POST)
    try:
        plan, emails = read_plan(request.POST.get("plan", ""), user=request.user)
    except PlanUnreadable as exc:
        return _respond(request, selection, BulkStep(error=str(exc)))
    kind = plan.change.kind
    form = BulkChangeForm(request.POST, owner_ids=())  # only carried back, never validated
    if not apply_form.is_valid():  # a bad reason: the same confirmation, with the error
        step = BulkStep(
            step="confirm",
            kind=kind,
            form=form,
            plan=plan,
            change=plan.change,
            customers=plan.customers,
            customer_emails=emails,
            apply_form=apply_form,
        )
        return _respond(request, selection, step)
    actor = Actor.for_request(request, Source.BULK, apply_form.cleaned_data["reason"])
    if isinstance(plan.targets, StoredTargets):
        # Past the synchronous limit: the same apply, as a job the person can watch.
        job = start_bulk_job(
            user=request.user,
            targets=plan.targets,
            change=plan.change,
            will_change=plan.will_change,
            reason=apply_form.cleaned_data["reason"],
        )
        if request.htmx:
            return HttpResponse(headers={"HX-Redirect": reverse("jobs:detail", args=[job.pk])})
        return redirect("jobs:detail", pk=job.pk)
    result = apply_bulk(targets=plan.targets, change=plan.change, actor=actor)
    step = BulkStep(step="result", kind=kind, form=form, result=result, change=plan.change)
    return _respond(request, selection, step)


@require_POST
@staff_view(VIEW, CHANGE)
def bulk_agent_options(request: HttpRequest) -> HttpResponse:
    """The bulk agent picker's options for a search: the selection's customers' agents.

    A POST of the bulk form, because the selection is its ticked rows (up to a
    page of ids: more than a query string may carry) or the list's filters."""
    selection = _selection(request)
    found = read_selection(numbers=selection.numbers) if selection.all or selection.ids else None
    form = BulkChangeForm(request.POST, owner_ids=found.owner_ids if found else ())
    agents = form.agents(form.query())
    chosen = form.value_of("agent")
    if chosen != "none" and chosen not in {str(a.pk) for a in agents}:
        chosen = ""
    return render(
        request,
        "numbers/_bulk_agent_options.html",
        {"agents": agents, "current": chosen, "q": form.query()},
    )


# The plan between review and apply: one signed value.


def sign_plan(plan: BulkPlan, *, user: Any, customer_emails: list[str]) -> str:
    """The plan as one signed, compressed value for the confirmation form: its change,
    its counts and its ``(id, version)`` targets, bound to the user who reviewed it
    (one field of the form, whatever the number of targets: docs/ARCHITECTURE.md)."""
    change = plan.change
    value = change.value.pk.hex if isinstance(change.value, Agent) else change.value
    payload = {
        "u": str(user.pk),
        "k": change.kind,
        "v": value,
        **_targets(plan),
        "c": plan.customers,
        "w": plan.will_change,
        "e": customer_emails,
    }
    return signing.dumps(payload, salt=PLAN_SALT, compress=True)


def _targets(plan: BulkPlan) -> dict[str, Any]:
    """The targets in the token, or (past ``BULK_LIMIT``, a job's) in a stored file."""
    if len(plan.targets) > BulkStep.sync_limit:
        stored = StoredTargets.save(list(plan.targets))
        return {"f": stored.name, "n": stored.count}
    return {"t": ",".join(f"{uuid.UUID(str(pk)).hex}.{version}" for pk, version in plan.targets)}


def read_plan(token: str, *, user: Any) -> tuple[BulkPlan, list[str]]:
    """The plan ``sign_plan`` made for ``user``, or ``PlanUnreadable`` saying why."""
    try:
        payload = signing.loads(token, salt=PLAN_SALT, max_age=PLAN_MAX_AGE)
    except signing.SignatureExpired:
        raise PlanUnreadable(
            f"This confirmation is more than {PLAN_MAX_AGE // 60} minutes old: review the "
            "change again. Nothing was changed."
        ) from None
    except signing.BadSignature:
        raise PlanUnreadable(
            "This confirmation could not be read: review the change again. Nothing was changed."
        ) from None
    if payload.get("u") != str(user.pk):
        raise PlanUnreadable("This confirmation was made by another user. Nothing was changed.")
    kind, value = payload["k"], payload["v"]
    if kind == "inbound_agent" and value is not None:
        value = Agent.objects.filter(pk=uuid.UUID(value)).first()
        if value is None:
            raise PlanUnreadable(
                "The agent chosen no longer exists: choose another. Nothing was changed."
            )
    targets: Any = []
    if "f" in payload:
        targets = StoredTargets(payload["f"], payload["n"])
    for item in filter(None, payload.get("t", "").split(",")):
        pk, version = item.split(".")
        targets.append((uuid.UUID(pk), int(version)))
    plan = BulkPlan(
        change=BulkChange(kind, value),
        targets=targets,
        customers=payload["c"],
        will_change=payload["w"],
    )
    return plan, payload["e"]
