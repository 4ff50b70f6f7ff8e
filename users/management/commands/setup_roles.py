"""``manage.py setup_roles``: the Support and Number admins groups (idempotent)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand
from django.db import transaction

from audit.services import Actor
from users.services import group_save

ROLE_APPS = ("numbers", "agents", "users", "audit")
SUPPORT = "Support"
NUMBER_ADMINS = "Number admins"


def ensure_roles() -> dict[str, Group]:
    """Create or repair both groups; their permissions are set exactly, every time.

    Through ``users.services.group_save``: a group created or a permission added
    or taken away is audited (and a lost permission ends the members' sessions);
    a run that changes nothing writes nothing.
    """
    view_all = Permission.objects.filter(
        content_type__app_label__in=ROLE_APPS, codename__startswith="view_"
    )
    change_numbers = Permission.objects.filter(
        content_type__app_label="numbers", codename="change_phonenumber"
    )
    wanted = {SUPPORT: list(view_all), NUMBER_ADMINS: [*view_all, *change_numbers]}
    actor = Actor.for_command("setup_roles")
    groups: dict[str, Group] = {}
    with transaction.atomic():
        for name, permissions in wanted.items():
            group = Group.objects.select_for_update().filter(name=name).first()
            if group is None:
                group = group_save(group=Group(name=name), actor=actor, permissions=permissions)
            elif set(group.permissions.values_list("pk", flat=True)) != {p.pk for p in permissions}:
                group = group_save(group=group, actor=actor, permissions=permissions)
            groups[name] = group
    return groups


class Command(BaseCommand):
    help = (
        "Create the Support group (view everything) and the Number admins group (view "
        "everything; change a number's label, description, inbound agent, active and "
        "outbound-only). Safe to run again."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        for name, group in ensure_roles().items():
            self.stdout.write(f"{name}: {group.permissions.count()} permissions")
