"""``manage.py create_demo_staff``: the demo's staff superuser, password shown once."""

from __future__ import annotations

import secrets
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from users.models import User


class Command(BaseCommand):
    help = "Create the demo staff superuser with a generated password, printed only once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--email", default="admin@switchboard.local")

    def handle(self, *args: Any, **options: Any) -> None:
        email = options["email"].lower()
        if User.objects.filter(email__iexact=email).exists():
            self.stdout.write(
                f"Staff login: {email} (exists; its password was printed when it was created. "
                f"Reset it with: python manage.py changepassword {email})"
            )
            return
        password = secrets.token_urlsafe(12)
        User.objects.create_superuser(email, password, name="Demo admin")
        self.stdout.write(self.style.SUCCESS("Staff login (shown once, keep it):"))
        self.stdout.write(f"  email:    {email}\n  password: {password}")
