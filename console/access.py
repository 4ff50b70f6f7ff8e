"""Who may see and do what in the dashboard.

Every dashboard view is wrapped in ``staff_view(permission)``: anonymous
users go to the login page, signed-in users who are not staff or lack the
model permission get the 403 page. Model view permissions decide what a
support user sees; superusers have every permission.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse


def staff_view(
    *permissions: str,
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = request.user
            if not user.is_staff:
                raise PermissionDenied("The dashboard is for staff accounts.")
            if not user.has_perms(permissions):
                raise PermissionDenied("Your account may not view this page.")
            return view(request, *args, **kwargs)

        return login_required(wrapped)

    return decorate
