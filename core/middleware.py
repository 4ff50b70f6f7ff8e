"""Request ids, the request log line, the query-string guard and no-store caching."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import TooManyFieldsSent
from django.http import HttpRequest, HttpResponse, JsonResponse

from .limits import limit, string_problem
from .logging import escape_controls

log = logging.getLogger("switchboard.requests")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIdMiddleware:
    """Use the load balancer's X-Request-ID when it is sane, else make one."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request.request_id = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        response = self.get_response(request)
        response["X-Request-ID"] = request.request_id
        return response


class RequestLogMiddleware:
    """One log line per request: id, method, path, status, time, user id.

    Deliberately no query string, headers, cookies or bodies: a search term
    may be personal data, and headers carry tokens and session cookies.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.monotonic()
        response = self.get_response(request)
        user = getattr(request, "user", None)
        user_id = getattr(user, "pk", None) if getattr(user, "is_authenticated", False) else "-"
        log.info(
            "request_id=%s method=%s path=%s status=%s duration_ms=%.1f user=%s",
            getattr(request, "request_id", "-"),
            request.method,
            request.path,
            response.status_code,
            (time.monotonic() - started) * 1000,
            user_id,
        )
        return response


def _shown_name(name: str) -> str:
    """A parameter name safe to put in an answer: escaped and short.

    The name is the only part of the query string an answer repeats: its
    control characters are escaped and a long one is cut short.
    """
    shown = escape_controls(name)
    return shown if len(shown) <= 100 else shown[:100] + "..."


def query_problem(request: HttpRequest) -> tuple[str | None, str] | None:
    """The first thing in the query string no view should have to handle, or None.

    Returns (parameter name or None when the query string as a whole is the
    problem, reason). The reason never contains a submitted value.
    """
    try:
        query = request.GET
    except TooManyFieldsSent:
        return None, f"More than {limit('query_params')} query parameters."
    pairs = [(name, value) for name, values in query.lists() for value in values]
    if len(pairs) > limit("query_params"):
        return None, f"More than {limit('query_params')} query parameters."
    max_length = limit("query_value")
    for name, value in pairs:
        problem = string_problem(name)
        if problem:
            return _shown_name(name), f"The parameter name {problem}."
        if len(name) > max_length:
            return _shown_name(name), f"The name is longer than {max_length:,} characters."
        problem = string_problem(value)
        if problem:
            return _shown_name(name), f"The value {problem}."
        if len(value) > max_length:
            return _shown_name(name), f"The value is longer than {max_length:,} characters."
    return None


class RequestGuardMiddleware:
    """A malformed query string is a 400 here, before any view or query sees it.

    House rule: a malformed encoding is the client's error (400), never a 500.
    PostgreSQL refuses a NUL in any text parameter, so a NUL that reaches a
    filter (the admin's search and list filters, the console's pickers) used
    to fail inside the database. One check at the door covers every view,
    including the admin's, which no form of ours parses. The limits and the
    encoding rules come from ``core.limits``, like every other input's.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        found = query_problem(request)
        if found is None:
            return self.get_response(request)
        name, reason = found
        if request.path_info.startswith("/v1/"):
            # The API's upstream error shape, with 400 for an unreadable request.
            loc = ["query"] if name is None else ["query", name]
            response: HttpResponse = JsonResponse(
                {"detail": [{"loc": loc, "msg": reason, "type": "value_error"}]}, status=400
            )
        else:
            where = "Query string" if name is None else f"Query parameter {name}"
            response = HttpResponse(
                f"Bad request. {where}: {reason}\n",
                status=400,
                content_type="text/plain; charset=utf-8",
            )
        # The middleware that would add these runs after this one; this answer
        # goes back without passing through it.
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "no-store"
        return response


class NoStoreMiddleware:
    """Pages and API answers may show masked credentials or customer data:
    no browser or proxy cache may keep them.

    Static files keep the caching WhiteNoise gives them (a year and more,
    ``immutable``, for a hashed name; a minute otherwise): WhiteNoise runs
    inside this middleware, so its answers come back through here, and
    overwriting them made every visit download the CSS and scripts again.
    Only an answer under STATIC_URL that already says how to cache it is
    spared; a 404 there is a page like any other.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # STATIC_URL carries the script prefix, as request.path does.
        static_prefix = urlsplit(settings.STATIC_URL or "").path
        is_static = bool(static_prefix) and request.path.startswith(static_prefix)
        if not (is_static and response.has_header("Cache-Control")):
            response["Cache-Control"] = "no-store"
        return response
