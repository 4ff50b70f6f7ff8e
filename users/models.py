"""Accounts: customers who own the inventory and staff who work on it."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.crypto import salted_hmac


class UserManager(BaseUserManager["User"]):
    """Creates users keyed by email (there is no username)."""

    use_in_migrations = True

    def _create(self, email: str, password: str | None, **fields: object) -> User:
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **fields: object) -> User:
        fields.setdefault("is_staff", False)
        fields.setdefault("is_superuser", False)
        return self._create(email, password, **fields)

    def create_superuser(self, email: str, password: str | None = None, **fields: object) -> User:
        fields["is_staff"] = True
        fields["is_superuser"] = True
        return self._create(email, password, **fields)

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(email__iexact=username)


class User(AbstractBaseUser, PermissionsMixin):
    """A person or customer account.

    The UUID primary key is the ``user_id`` of every object in the API.
    Customer accounts (``is_staff`` off) own phone numbers and agents; staff
    accounts sign in to the dashboard and the admin.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField("email address", unique=True)
    name = models.CharField(max_length=150, blank=True)
    is_staff = models.BooleanField(
        default=False, help_text="Can sign in to the dashboard and the admin."
    )
    is_active = models.BooleanField(default=True)
    # Part of every session's auth hash: users.services bumps it when a role is
    # taken away or the account is deactivated, which ends all open sessions.
    session_version = models.PositiveIntegerField(default=0, editable=False)
    # Grows by one after every committed change to this account's numbers or agent
    # graph (audit.services.record, the one place every change is recorded): the
    # API's page cache keys on it (api.pagecache), so no cached page outlives a change.
    inventory_version = models.PositiveBigIntegerField(default=0, editable=False)
    date_joined = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["email", "id"]
        constraints = [
            # Sign-in looks the email up case-insensitively (get_by_natural_key):
            # two accounts differing only in case would make it fail for both.
            models.UniqueConstraint(
                Lower("email"),
                name="user_email_ci_unique",
                violation_error_message="A user with this email address already exists.",
            ),
        ]

    def __str__(self) -> str:
        return self.email

    def clean(self) -> None:
        super().clean()
        self.email = self.normalized_email(self.email)

    # Written only by audit.services.bump_inventory_version (an UPDATE ... + 1): a save
    # of an account read earlier must not put an older version back.
    NOT_SAVED = frozenset({"inventory_version"})

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.email = self.normalized_email(self.email)
        if not self._state.adding and kwargs.get("update_fields") is None:
            kwargs["update_fields"] = [
                f.name
                for f in self._meta.concrete_fields
                if not f.primary_key and f.name not in self.NOT_SAVED
            ]
        super().save(*args, **kwargs)

    @classmethod
    def normalized_email(cls, email: str | None) -> str:
        """An email as stored: lower case, whole (as ``UserManager`` creates it)."""
        return UserManager.normalize_email(email).lower() if email else (email or "")

    def get_full_name(self) -> str:
        return self.name or self.email

    def get_short_name(self) -> str:
        return self.name or self.email.split("@", 1)[0]

    @property
    def created_at(self):
        return self.date_joined

    def _get_session_auth_hash(self, secret: str | None = None) -> str:
        # Django's hash covers the password only: a session survived losing the
        # Number admins group or is_staff. With session_version in it, every
        # session of the user fails its check on the next request.
        key_salt = "users.User.get_session_auth_hash"
        return salted_hmac(
            key_salt,
            f"{self.password}:{self.session_version}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()

    @classmethod
    def placeholder_email(cls, user_id: uuid.UUID | str) -> str:
        """The email given to an account known only by its upstream ``user_id``."""
        return f"{uuid.UUID(str(user_id))}@imported.invalid"


class TokenScope(models.TextChoices):
    READ = "read", "Read only"
    READ_WRITE = "read_write", "Read and write"


class ApiToken(models.Model):
    """A customer's API bearer token. Only a hash of the secret is stored.

    The token a client sends is ``sb_<prefix>_<secret>``: the prefix (public,
    shown in the admin) finds the row, and the SHA-256 of the whole token is
    compared in constant time. The secret has 256 bits of entropy, so a fast
    hash is enough (there is nothing to brute-force); the plaintext is shown
    once, when the token is created.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Tokens issued before scopes existed could write: they stay read-write.
    scope = models.CharField(
        max_length=16, choices=TokenScope.choices, default=TokenScope.READ_WRITE
    )

    class Meta:
        ordering = ["-created_at", "id"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"sb_{self.prefix}_… ({self.name or self.user})"

    @property
    def can_write(self) -> bool:
        return self.scope == TokenScope.READ_WRITE

    @property
    def is_usable(self) -> bool:
        now = timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)

    @property
    def status(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= timezone.now():
            return "expired"
        return "active"
