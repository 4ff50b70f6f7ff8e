"""Reads of accounts and their API tokens."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from .models import ApiToken, User

# What a page may show of a token: never ``secret_hash`` (not even loaded).
TOKEN_COLUMNS = (
    "id",
    "user_id",
    "name",
    "prefix",
    "scope",
    "created_at",
    "last_used_at",
    "expires_at",
    "revoked_at",
)
TOKENS_SHOWN = 50


def account(*, pk: Any) -> User | None:
    """One account, without its password hash."""
    return User.objects.defer("password").filter(pk=pk).first()


def api_tokens_of(owner: Any) -> QuerySet[ApiToken]:
    """An account's tokens, newest first, with the public columns only."""
    return ApiToken.objects.filter(user=owner).only(*TOKEN_COLUMNS).order_by("-created_at", "-id")
