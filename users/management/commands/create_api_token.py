"""``manage.py create_api_token USER``: issue an API token, printed once."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from audit.services import Actor
from users.models import TokenScope, User
from users.services import api_token_create


def find_user(ref: str) -> User:
    """A user by email or by id."""
    try:
        user = User.objects.filter(pk=uuid.UUID(ref)).first()
    except ValueError:
        user = User.objects.filter(email__iexact=ref).first()
    if user is None:
        raise CommandError(f"No user with email or id {ref!r}.")
    return user


class Command(BaseCommand):
    help = "Issue an API token for USER (an email or a user id). The token is printed once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("user", help="Email or user id.")
        parser.add_argument("--name", default="", help="What the token is for.")
        parser.add_argument("--expires-in-days", type=int, default=None)
        parser.add_argument(
            "--read-only", action="store_true", help="The token may read but not update numbers."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user = find_user(options["user"])
        days = options["expires_in_days"]
        if days is not None and days < 1:
            raise CommandError("--expires-in-days must be at least 1.")
        expires_at = timezone.now() + timedelta(days=days) if days else None
        api_token, token = api_token_create(
            user=user,
            name=options["name"],
            expires_at=expires_at,
            scope=TokenScope.READ if options["read_only"] else TokenScope.READ_WRITE,
            actor=Actor.for_command("create_api_token"),
        )
        self.stdout.write(
            f"API token for {user.email} (prefix {api_token.prefix}, "
            f"{api_token.get_scope_display().lower()}), shown once:"
        )
        self.stdout.write(token)
