"""``manage.py setup_roles``: the Support and Number admins groups (idempotent)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand
from django.db import transaction

ROLE_APPS = ("numbers", "agents", "users", "audit")
SUPPORT = "Support"
NUMBER_ADMINS = "Number admins"


def ensure_roles() -> dict[str, Group]:
    """Create or repair both groups; their permissions are set exactly, every time."""
    view_all = Permission.objects.filter(
        content_type__app_label__in=ROLE_APPS, codename__startswith="view_"
    )
    change_numbers = Permission.objects.filter(
        content_type__app_label="numbers", codename="change_phonenumber"
    )
    with transaction.atomic():
        support, _ = Group.objects.get_or_create(name=SUPPORT)
        support.permissions.set(view_all)
        admins, _ = Group.objects.get_or_create(name=NUMBER_ADMINS)
        admins.permissions.set([*view_all, *change_numbers])
    return {SUPPORT: support, NUMBER_ADMINS: admins}


class Command(BaseCommand):
    help = (
        "Create the Support group (view everything) and the Number admins group (view "
        "everything; change a number's label, description, inbound agent, active and "
        "outbound-only). Safe to run again."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        for name, group in ensure_roles().items():
            self.stdout.write(f"{name}: {group.permissions.count()} permissions")
