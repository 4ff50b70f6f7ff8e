"""``manage.py demo_logins``: the demo's staff login and a customer API token, shown once."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandParser

from users.management.commands.setup_roles import NUMBER_ADMINS, SUPPORT, ensure_roles
from users.models import ApiToken, User
from users.services import api_token_create

DEMO_TOKEN_NAME = "demo"  # noqa: S105 - a label, not a secret


class Command(BaseCommand):
    help = (
        "Create the demo staff superuser and an API token for the first demo customer. "
        "Secrets are printed once, when created; later runs only name the accounts."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--email", default="admin@switchboard.local")

    def handle(self, *args: Any, **options: Any) -> None:
        groups = ensure_roles()
        self._staff(options["email"].lower(), "Superuser", None)
        self._staff("numbers@switchboard.local", NUMBER_ADMINS, groups[NUMBER_ADMINS])
        self._staff("support@switchboard.local", SUPPORT, groups[SUPPORT])
        self._customer_token()

    def _staff(self, email: str, role: str, group: Group | None) -> None:
        if User.objects.filter(email__iexact=email).exists():
            self.stdout.write(
                f"{role} login: {email} (its password was printed when it was created; "
                f"reset it with: python manage.py changepassword {email})"
            )
            return
        password = secrets.token_urlsafe(12)
        if group is None:
            User.objects.create_superuser(email, password, name="Demo admin")
        else:
            user = User.objects.create_user(email, password, name=f"Demo {role}", is_staff=True)
            user.groups.add(group)
        self.stdout.write(self.style.SUCCESS(f"{role} login (shown once, keep it):"))
        self.stdout.write(f"  email:    {email}\n  password: {password}")

    def _customer_token(self) -> None:
        customer = (
            User.objects.filter(is_staff=False, phone_numbers__isnull=False)
            .order_by("email")
            .distinct()
            .first()
        )
        if customer is None:
            return
        existing = ApiToken.objects.filter(user=customer, name=DEMO_TOKEN_NAME).first()
        if existing is not None:
            self.stdout.write(
                f"API token of {customer.email}: sb_{existing.prefix}_… (shown when created; "
                f"issue another with: python manage.py create_api_token {customer.email})"
            )
            return
        _, token = api_token_create(user=customer, name=DEMO_TOKEN_NAME)
        self.stdout.write(self.style.SUCCESS(f"API token of {customer.email} (shown once):"))
        self.stdout.write(f"  {token}")
        self.stdout.write(
            f'  try: curl -H "Authorization: Bearer {token}" '
            "'http://127.0.0.1:8000/v1/numbers/list?size=2'"
        )
