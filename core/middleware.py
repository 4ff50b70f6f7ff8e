"""Request ids: every request carries one, in logs, audit entries and responses."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

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


class NoStoreMiddleware:
    """Pages and API answers may show masked credentials or customer data:
    no browser or proxy cache may keep them. Static files are not affected
    (WhiteNoise answers them before this runs)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response["Cache-Control"] = "no-store"
        return response
