"""Who may see and do what in the dashboard.

Every dashboard view is wrapped in ``staff_view(permission)``: anonymous
users go to the login page and come back to the page they were on (for an
htmx request, the whole page goes, by ``HX-Redirect``: a 302 would be
followed by htmx and the login form swapped into the table); signed-in
users who are not staff or lack the model permission get the 403 page.
Model view permissions decide what a support user sees; superusers have
every permission.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from users.second_factor import login_redirect


def staff_view(
    *permissions: str,
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = request.user
            if not user.is_authenticated:  # never signed in, expired, or signed out elsewhere
                return login_redirect(request)
            if not user.is_staff:
                raise PermissionDenied("The dashboard is for staff accounts.")
            if not user.has_perms(permissions):
                raise PermissionDenied("Your account may not view this page.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorate
