"""Health check and error pages (HTML in the app's look, JSON under /v1/)."""

from __future__ import annotations

import logging
import sys
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db import InterfaceError, OperationalError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.utils.functional import SimpleLazyObject, empty
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from core import health, replicas

log = logging.getLogger("switchboard.errors")
RETRY_AFTER_SECONDS = 5
MESSAGES = {
    400: "Bad request.",
    403: "You may not do this.",
    404: "Not found.",
    500: "Something went wrong on our side.",
    503: "The service is briefly unavailable; try again in a few seconds.",
}


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """For load balancers: 200 when the primary database answers, 503 when it does not.

    ``databases`` gives each database's state, replicas with their lag (a replica
    down or lagging is reported, and skipped by reads, but never makes this a 503:
    the primary serves).

    Beside that, what the apps registered in ``core.health`` (the background jobs'
    queue depth and stalled work): reported, never deciding the status code.
    Bounded by the connect timeout and the ``healthz`` profile's statement
    timeout (core.dbtimeouts), shorter than a page's: a balancer's probe gives
    up after a few seconds, and a worker should not wait longer than it.
    """
    if not health.primary_answers():
        _without_the_database(request)
        response = JsonResponse({"status": "error", "database": "unreachable"}, status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    databases = {replicas.PRIMARY: {"state": "ok"}, **replicas.database_states()}
    return JsonResponse(
        {"status": "ok", "database": "ok", "databases": databases, **health.report()}
    )


def _without_the_database(request: HttpRequest) -> None:
    """Nothing later in this request waits for the database again.

    The request log line reads ``request.user``; a user not loaded yet (or
    whose loading just failed) would make it connect once more, and a
    stalled database would double the wait before the 503 leaves.
    """
    user = getattr(request, "user", None)
    if isinstance(user, SimpleLazyObject) and user._wrapped is empty:
        request.user = AnonymousUser()


def _error(request: HttpRequest, status: int, detail: str | None = None) -> HttpResponse:
    """The error in the caller's language: JSON for the API, the app's page otherwise.

    Rendered without touching the database (it may be the thing that failed):
    no context processors, only the request id.
    """
    request_id = getattr(request, "request_id", "")
    if request.path.startswith("/v1/"):
        response: HttpResponse = JsonResponse(
            {"detail": detail or MESSAGES[status], "request_id": request_id}, status=status
        )
    else:
        # error.html and 403.html are console's (console/templates/): found by name
        # through APP_DIRS, which is not an import, so core stays below console.
        body = loader.get_template("error.html").render(
            {
                "status": status,
                "message": detail or MESSAGES[status],
                "request_id": request_id,
            }
        )
        response = HttpResponse(body, status=status)
    if status == 503:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def bad_request(request: HttpRequest, exception: Any = None) -> HttpResponse:
    return _error(request, 400)


def permission_denied(request: HttpRequest, exception: Any = None) -> HttpResponse:
    if request.path.startswith("/v1/"):
        return _error(request, 403)
    body = loader.get_template("403.html").render(
        {"exception": str(exception) if exception else "", "request": request}, request
    )
    return HttpResponse(body, status=403)


def page_not_found(request: HttpRequest, exception: Any = None) -> HttpResponse:
    return _error(request, 404)


def server_error(request: HttpRequest) -> HttpResponse:
    """A database that cannot be reached is a 503 with Retry-After, not a 500.

    OperationalError covers a refused or timed-out connection and the
    statement and lock timeouts (psycopg's QueryCanceled and LockNotAvailable,
    which Django wraps as OperationalError): core.dbtimeouts.
    """
    exc = sys.exc_info()[1]
    if isinstance(exc, OperationalError | InterfaceError):
        log.warning(
            "database unavailable request_id=%s: %s (%s)",
            getattr(request, "request_id", "-"),
            exc.__class__.__name__,
            # psycopg's own class says which bound: ConnectionTimeout, LockNotAvailable...
            type(exc.__cause__).__name__ if exc.__cause__ else "-",
        )
        connection.close_if_unusable_or_obsolete()
        _without_the_database(request)
        return _error(request, 503)
    return _error(request, 500)
