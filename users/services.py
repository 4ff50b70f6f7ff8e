"""Every write on accounts and API tokens, each audited in the same transaction.

The admin, the importer and the management commands call these; nothing else
saves a ``User``, an ``ApiToken`` or a ``Group`` (the login's ``last_login``
aside). Taking a role away ends the user's open sessions
(``User.session_version``), and so does a group losing a permission.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import Group, Permission
from django.db import models, transaction
from django.db.models import F, Model
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from audit.models import Action, Source
from audit.services import Actor, diff, record, snapshot

from .models import ApiToken, TokenScope, User

SYSTEM = Actor("system", Source.COMMAND)

TOKEN_PREFIX = "sb_"  # noqa: S105 - a public marker, not a secret
PREFIX_LENGTH = 8
# Writing last_used_at on every request would turn each API read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=5)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _names(objects: Iterable[Model]) -> list[str]:
    return sorted(str(o) for o in objects)


def _account_state(user: User) -> dict[str, Any]:
    """What the trail records of an account: its fields (the password only as a
    fingerprint of its hash, so a change shows), its groups and permissions."""
    state = snapshot(user)
    if user.pk is not None and not user._state.adding:
        state["groups"] = _names(user.groups.all())
        state["user_permissions"] = _names(user.user_permissions.all())
    return state


def _loses_a_role(before: User, after: User, groups: Iterable[Model] | None) -> bool:
    if (before.is_active and not after.is_active) or (before.is_staff and not after.is_staff):
        return True
    if before.is_superuser and not after.is_superuser:
        return True
    if groups is None:
        return False
    return bool(set(before.groups.values_list("pk", flat=True)) - {g.pk for g in groups})


# Told when an account's email changes, in the change's transaction, after the row is
# written (it stays locked): a layer above that keeps a copy of the email keeps it
# current (phone_numbers.upkeep: each number's ``owner_email``, the inventory's sort
# key), since this layer cannot import it.
EmailListener = Callable[[User], None]
_EMAIL_LISTENERS: list[EmailListener] = []


def register_email_listener(listener: EmailListener) -> None:
    """Be told of every change of an account's email (called once per app, at start-up)."""
    if listener not in _EMAIL_LISTENERS:
        _EMAIL_LISTENERS.append(listener)


def user_save(
    *,
    user: User,
    actor: Actor,
    groups: Iterable[Model] | None = None,
    permissions: Iterable[Model] | None = None,
) -> User:
    """Create or change an account (fields set on ``user``; groups and permissions
    given), audited. Losing a role (active, staff, superuser or a group) ends the
    user's sessions everywhere: their auth hash includes ``session_version``."""
    groups = list(groups) if groups is not None else None
    with transaction.atomic():
        current = None
        if not user._state.adding:
            current = User.objects.select_for_update().filter(pk=user.pk).first()
        before = _account_state(current) if current is not None else {}
        if current is not None and _loses_a_role(current, user, groups):
            user.session_version = current.session_version + 1
        user.save()
        if current is not None and current.email != user.email:
            for listener in _EMAIL_LISTENERS:
                listener(user)
        if groups is not None:
            user.groups.set(groups)
        if permissions is not None:
            user.user_permissions.set(list(permissions))
        record(
            actor=actor,
            obj=user,
            changes=diff(before, _account_state(user)),
            action=Action.UPDATE if current is not None else Action.CREATE,
        )
    return user


def _owned_counts(user: User) -> dict[str, int]:
    """How many rows of each kind the delete takes with it ("agents.agent": 3).

    Found through the user's own reverse relations, hidden ones included (the
    agents' models link with ``related_name="+"``), as Django's delete
    collector finds them: this module imports nothing from the apps above it
    (agents, phone_numbers), and a new model owned by users is counted too.
    """
    counts: dict[str, int] = {}
    for rel in user._meta.get_fields(include_hidden=True):
        if not rel.auto_created or rel.concrete or not (rel.one_to_many or rel.one_to_one):
            continue
        related = rel.related_model
        if rel.on_delete is not models.CASCADE or related is ApiToken or related._meta.auto_created:
            continue  # tokens get an entry each; m2m rows (groups) are in the account state
        count = related._base_manager.filter(**{rel.field.name: user}).count()
        if count:
            counts[related._meta.label_lower] = count
    return counts


def user_delete(*, user: User, actor: Actor) -> None:
    """Delete an account with what it owns, audited. A customer with numbers is
    refused by the database (``PhoneNumber.user`` is PROTECT): the admin lists them.

    A customer without numbers takes their agent graph with them: the account's
    entry counts the rows of each kind deleted with it, and each API token (gone
    by the cascade) gets its own DELETE entry, all in the delete's transaction.
    """
    with transaction.atomic():
        api_tokens = list(user.api_tokens.select_related("user"))
        changes = diff(_account_state(user), {})
        if api_tokens:
            changes["api_tokens"] = [_names(api_tokens), []]
        for kind, count in _owned_counts(user).items():
            changes[f"owned {kind}"] = [count, 0]
        for api_token in api_tokens:
            record(
                actor=actor,
                obj=api_token,
                changes=diff(_token_state(api_token), {}),
                action=Action.DELETE,
            )
        record(actor=actor, obj=user, changes=changes, action=Action.DELETE)
        user.delete()


def _permission_names(permissions: Iterable[Permission]) -> list[str]:
    return sorted(f"{p.content_type.app_label}.{p.codename}" for p in permissions)


def _group_state(group: Group) -> dict[str, Any]:
    """What the trail records of a group: its name and permissions ("app.codename")."""
    state: dict[str, Any] = {"name": group.name}
    if group.pk is not None and not group._state.adding:
        state["permissions"] = _permission_names(group.permissions.select_related("content_type"))
    return state


def _end_members_sessions(group: Group) -> int:
    """Bump the members' ``session_version``: their open sessions end, as for a lost role."""
    return User.objects.filter(groups=group).update(session_version=F("session_version") + 1)


def group_save(
    *, group: Group, actor: Actor, permissions: Iterable[Permission] | None = None
) -> Group:
    """Create or change a group (its name set on ``group``, its permissions given),
    audited. A permission taken away ends the sessions of every member: granting
    or removing power through a group is a change to each member's account."""
    permissions = list(permissions) if permissions is not None else None
    with transaction.atomic():
        current = None
        if not group._state.adding:
            current = Group.objects.select_for_update().filter(pk=group.pk).first()
        before = _group_state(current) if current is not None else {}
        group.save()
        if permissions is not None:
            lost = current is not None and bool(
                set(current.permissions.values_list("pk", flat=True)) - {p.pk for p in permissions}
            )
            group.permissions.set(permissions)
            if lost:
                _end_members_sessions(group)
        record(
            actor=actor,
            obj=group,
            changes=diff(before, _group_state(group)),
            action=Action.UPDATE if current is not None else Action.CREATE,
        )
    return group


def group_delete(*, group: Group, actor: Actor) -> None:
    """Delete a group, audited with its name, permissions and how many members it
    had; those members' sessions end (they lose whatever it granted)."""
    with transaction.atomic():
        changes = diff(_group_state(group), {})
        changes["members"] = [group.user_set.count(), 0]
        _end_members_sessions(group)
        record(actor=actor, obj=group, changes=changes, action=Action.DELETE)
        group.delete()


def _token_state(api_token: ApiToken) -> dict[str, Any]:
    """A token as the trail records it: never its secret or hash."""
    return {
        "token": f"sb_{api_token.prefix}_…",
        "user": str(api_token.user),
        "name": api_token.name,
        "scope": api_token.get_scope_display(),
        "expires_at": api_token.expires_at.isoformat() if api_token.expires_at else None,
        "revoked_at": api_token.revoked_at.isoformat() if api_token.revoked_at else None,
    }


@sensitive_variables("token", "secret")
def api_token_create(
    *,
    user: User,
    name: str = "",
    expires_at: datetime | None = None,
    scope: str = TokenScope.READ_WRITE,
    actor: Actor = SYSTEM,
) -> tuple[ApiToken, str]:
    """Issue a token; return it with its plaintext, which is never stored or shown again."""
    with transaction.atomic():
        while True:
            prefix = secrets.token_hex(PREFIX_LENGTH // 2)
            if not ApiToken.objects.filter(prefix=prefix).exists():
                break
        secret = secrets.token_urlsafe(32)
        token = f"{TOKEN_PREFIX}{prefix}_{secret}"
        api_token = ApiToken.objects.create(
            user=user,
            name=name,
            prefix=prefix,
            secret_hash=hash_token(token),
            expires_at=expires_at,
            scope=scope,
        )
        record(
            actor=actor,
            obj=api_token,
            changes=diff({}, _token_state(api_token)),
            action=Action.CREATE,
        )
    return api_token, token


def api_token_update(
    *, api_token: ApiToken, actor: Actor, name: str, expires_at: datetime | None, scope: str
) -> ApiToken:
    """Rename a token, change its expiry or scope; audited."""
    with transaction.atomic():
        before = _token_state(api_token)
        api_token.name, api_token.expires_at, api_token.scope = name, expires_at, scope
        api_token.full_clean()
        api_token.save(update_fields=["name", "expires_at", "scope"])
        record(actor=actor, obj=api_token, changes=diff(before, _token_state(api_token)))
    return api_token


def api_token_revoke(*, api_token: ApiToken, actor: Actor = SYSTEM) -> ApiToken:
    """Revoke a token (it answers 401 from now on); audited. Revoking twice is a no-op."""
    with transaction.atomic():
        if api_token.revoked_at is None:
            before = _token_state(api_token)
            api_token.revoked_at = timezone.now()
            api_token.save(update_fields=["revoked_at"])
            record(actor=actor, obj=api_token, changes=diff(before, _token_state(api_token)))
    return api_token


@sensitive_variables("token")
def api_token_authenticate(token: str) -> ApiToken | None:
    """The usable token matching ``token``, or None. Constant-time comparison."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    prefix, _, secret = token[len(TOKEN_PREFIX) :].partition("_")
    if len(prefix) != PREFIX_LENGTH or not secret:
        return None
    api_token = ApiToken.objects.select_related("user").filter(prefix=prefix).first()
    if api_token is None:
        hmac.compare_digest(hash_token(token), "0" * 64)  # same work either way
        return None
    if not hmac.compare_digest(hash_token(token), api_token.secret_hash):
        return None
    if not api_token.is_usable or not api_token.user.is_active:
        return None
    now = timezone.now()
    if api_token.last_used_at is None or now - api_token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=api_token.pk).update(last_used_at=now)
        api_token.last_used_at = now
    return api_token
