"""DRF authentication by ``Authorization: Bearer <token>``."""

from __future__ import annotations

from typing import Any

from rest_framework import authentication, exceptions, permissions
from rest_framework.request import Request

from users.models import ApiToken, User
from users.services import api_token_authenticate


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """A customer's API token; every failure is a 401 with ``WWW-Authenticate: Bearer``."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token or " " in token:
            raise exceptions.AuthenticationFailed(
                "Malformed Authorization header: expected 'Bearer <token>'."
            )
        api_token = api_token_authenticate(token)
        if api_token is None:
            raise exceptions.AuthenticationFailed("Invalid, revoked or expired token.")
        return api_token.user, api_token

    def authenticate_header(self, request: Any) -> str:
        return 'Bearer realm="api"'


class TokenCanWrite(permissions.BasePermission):
    """Writes need a read-write token; a read-only one gets a 403 that says so."""

    message = "This API token is read-only: issue a read-write token to update numbers."

    def has_permission(self, request: Request, view: Any) -> bool:
        token = getattr(request, "auth", None)
        return bool(token is not None and getattr(token, "can_write", False))
