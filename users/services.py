"""Writes on accounts: issuing and revoking API tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from .models import ApiToken, User

TOKEN_PREFIX = "sb_"  # noqa: S105 - a public marker, not a secret
PREFIX_LENGTH = 8
# Writing last_used_at on every request would turn each API read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=5)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@sensitive_variables("token", "secret")
def api_token_create(
    *, user: User, name: str = "", expires_at: datetime | None = None
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
        )
    return api_token, token


def api_token_revoke(*, api_token: ApiToken) -> ApiToken:
    if api_token.revoked_at is None:
        api_token.revoked_at = timezone.now()
        api_token.save(update_fields=["revoked_at"])
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
