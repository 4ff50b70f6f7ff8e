"""Glue between django-axes and our email-as-username user model."""

from __future__ import annotations

from typing import Any


def axes_username(request: Any, credentials: dict[str, Any] | None) -> str | None:
    """The login name of an attempt, lower-cased.

    Django's login form authenticates with the user model's USERNAME_FIELD
    (``email``), while the form field and other callers say ``username``;
    axes must see the same name either way or a lockout never matches.
    """
    credentials = credentials or {}
    name = credentials.get("email") or credentials.get("username")
    if name is None and request is not None:
        name = request.POST.get("username") or request.POST.get("email")
    return str(name).strip().lower() if name else None
