"""Writes of the console's preferences: saved views (audited) and column choices.

A saved view's query string is checked by the inventory's own form before it is
stored (``view_query``), so a view holds only what the inventory understands.
Create, update (rename, share, unshare) and delete each write one audit entry in
the same transaction; an update is compare-and-set on ``version``
(``audit.services.audited_save``), so an edit from a stale page is a
``VersionConflict``, not a lost update.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.http import QueryDict

from audit.models import Action
from audit.services import Actor, VersionConflict, audited_save, diff, record, snapshot
from console.forms.numbers import NumberFilterForm
from console.lists import PAGE_PARAMS
from console.models import ColumnChoice, SavedView
from console.number_columns import DEFAULT_COLUMNS, REQUIRED
from core.limits import limit

__all__ = ["VersionConflict"]

NAME_TAKEN = "You already have a view with this name."


def view_query(query: str, columns: Sequence[str] | None) -> str:
    """The inventory query string a view stores: the form's own fields only, no paging
    and no empty values, ``cols`` set to ``columns``; ``ValidationError`` when a value
    is one the inventory would drop."""
    params = QueryDict(query.lstrip("?"), mutable=True)
    params.pop("cols", None)
    if columns:
        params["cols"] = ",".join(columns)
    form = NumberFilterForm(params)
    if form.errors:
        names = ", ".join(str(form.fields[n].label or n).capitalize() for n in form.errors)
        raise ValidationError({"query": f"The list has invalid values for: {names}."})
    kept = QueryDict(mutable=True)
    for name in form.fields:
        if name in PAGE_PARAMS:
            continue
        values = [v for v in params.getlist(name) if v.strip()]
        if values:
            kept.setlist(name, values)
    text = kept.urlencode(safe=",")  # cols=number,label reads as it is
    if len(text) > limit("view_query"):
        raise ValidationError(
            {"query": f"These filters are too long to save ({limit('view_query'):,} characters)."}
        )
    return text


def can_manage(user: Any, view: SavedView) -> bool:
    """A creator manages their own views; number admins manage every shared one."""
    return view.created_by_id == user.pk or (
        view.shared and user.has_perm("numbers.change_phonenumber")
    )


def _name_taken(creator_id: Any, name: str, exclude: Any = None) -> bool:
    # Lower() on both sides, as the unique constraint compares (iexact differs on SQLite).
    taken = SavedView.objects.annotate(lname=Lower("name")).filter(
        created_by_id=creator_id, lname=name.lower()
    )
    return taken.exclude(pk=exclude).exists() if exclude else taken.exists()


def _save(view: SavedView, *, actor: Actor, expected_version: int | None) -> SavedView:
    view.full_clean(exclude=["created_by"], validate_constraints=False)
    if _name_taken(view.created_by_id, view.name, exclude=view.pk if expected_version else None):
        raise ValidationError({"name": NAME_TAKEN})
    try:
        with transaction.atomic():
            audited_save(obj=view, actor=actor, expected_version=expected_version)
    except IntegrityError:  # the same name saved at the same moment
        raise ValidationError({"name": NAME_TAKEN}) from None
    return view


def saved_view_create(
    *,
    actor: Actor,
    name: str,
    query: str,
    columns: Sequence[str] | None = None,
    shared: bool = False,
) -> SavedView:
    """A new view of ``actor.user``'s current list (``query``, ``columns``)."""
    view = SavedView(
        created_by=actor.user,
        name=name.strip(),
        query=view_query(query, columns),
        shared=shared,
    )
    return _save(view, actor=actor, expected_version=None)


def saved_view_update(
    *,
    actor: Actor,
    view: SavedView,
    expected_version: int,
    name: str,
    shared: bool,
    query: str | None = None,
    columns: Sequence[str] | None = None,
) -> SavedView:
    """Rename, share or unshare ``view`` (and replace its list when ``query`` is
    given), if ``actor.user`` may manage it and it is still at ``expected_version``."""
    if not can_manage(actor.user, view):
        raise PermissionDenied("Only its creator or a number admin can change this view.")
    view.name = name.strip()
    view.shared = shared
    if query is not None:
        view.query = view_query(query, columns)
    return _save(view, actor=actor, expected_version=expected_version)


def saved_view_delete(*, actor: Actor, view: SavedView, expected_version: int) -> None:
    """Delete ``view`` if ``actor.user`` may manage it and nobody changed it meanwhile."""
    if not can_manage(actor.user, view):
        raise PermissionDenied("Only its creator or a number admin can delete this view.")
    with transaction.atomic():
        current = SavedView.objects.select_for_update().filter(pk=view.pk).first()
        if current is None:
            return  # already gone: what was asked is done
        if current.version != expected_version:
            raise VersionConflict(current)
        record(
            actor=actor,
            obj=current,
            changes=diff(snapshot(current), {}),
            action=Action.DELETE,
        )
        current.delete()


def column_choice_save(*, user: Any, columns: Sequence[str]) -> tuple[str, ...]:
    """Remember ``user``'s inventory columns (the number first if it was left out).

    A preference of one person's screen, not data: not audited."""
    keys = tuple(dict.fromkeys(columns))
    if REQUIRED not in keys:
        keys = (REQUIRED, *keys)
    if keys == DEFAULT_COLUMNS:
        ColumnChoice.objects.filter(user=user).delete()
    else:
        ColumnChoice.objects.update_or_create(user=user, defaults={"columns": ",".join(keys)})
    return keys
