"""The staff second factor: who owes one, what they may reach until they give it,
and the writes that enrol, use and reset it.

The rule, while ``settings.STAFF_TOTP_REQUIRED`` is on (the default unless DEBUG):

- superusers, number admins and any staff member who may change data must
  have a confirmed TOTP device and verify it once per session (a code from
  their authenticator app, or one of ten single-use recovery codes) before
  any console or admin page: they can reroute every customer's calls;
- other staff (support, read-only) may enrol from their account page; once
  they have, their sign-in asks for the code as well, since a second factor
  that can be skipped protects nothing;
- with the setting off, signing in is one step (the demo and most tests).

Signing in stays Django's ``LoginView``, so django-axes still counts wrong
passwords. A signed-in user who still owes a code is held on the verify and
setup pages (and sign-out) by ``SecondFactorMiddleware``: a middleware rather
than a decorator, so the admin and every page added later are covered without
anyone remembering to. The API (``/v1/``) is exempt: it authenticates each
request with a bearer token, never with the session.

Secrets: the TOTP key and the recovery codes live in django-otp's own tables,
as django-otp stores them. Neither is logged nor audited: the trail records
that a device was enrolled or reset, or that a recovery code was used, and
how many codes are left. Wrong codes are throttled per device by django-otp
(1, 2, 4 ... seconds) and logged without the code.

Imports of models stay inside functions: ``StaffAdminConfig`` is named in
INSTALLED_APPS, so this module is imported before the app registry is ready.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib.admin import AdminSite
from django.contrib.admin.apps import AdminConfig
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django_htmx.http import HttpResponseClientRedirect

if TYPE_CHECKING:
    from collections.abc import Callable

    from django_otp.models import Device
    from django_otp.plugins.otp_static.models import StaticDevice
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from audit.services import Actor

log = logging.getLogger("switchboard.security")

VERIFY = "verify"
SETUP = "setup"
RECOVERY_CODE_COUNT = 10
TOTP_CODE = re.compile(r"[0-9]{6}")
# django-otp's StaticToken.random_token(): 5 random bytes in lower-case base32.
RECOVERY_CODE = re.compile(r"[a-z2-7]{8}")
APP_LABEL = "authenticator app"
# What a signed-in user who still owes a code may reach.
OPEN_VIEWS = frozenset({"login", "logout", "healthz", "account:verify", "account:setup"})
OPEN_NAMESPACES = frozenset({"api"})  # bearer tokens, not sessions


# --- Who owes what ---------------------------------------------------------------


def must_enrol(user: Any) -> bool:
    """Whether the user's role requires a second factor: superusers, number admins
    and anyone else who may add, change or delete something."""
    from users.management.commands.setup_roles import NUMBER_ADMINS

    if not (user.is_staff or user.is_superuser):
        return False
    if user.is_superuser or user.groups.filter(name=NUMBER_ADMINS).exists():
        return True
    return any(not perm.split(".", 1)[1].startswith("view_") for perm in user.get_all_permissions())


def totp_device(user: Any, *, confirmed: bool = True) -> TOTPDevice | None:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return TOTPDevice.objects.filter(user=user, confirmed=confirmed).order_by("pk").first()


def recovery_device(user: Any) -> StaticDevice | None:
    from django_otp.plugins.otp_static.models import StaticDevice

    return StaticDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def recovery_codes_left(user: Any) -> int:
    from django_otp.plugins.otp_static.models import StaticToken

    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def is_verified(user: Any) -> bool:
    check = getattr(user, "is_verified", None)  # installed by django-otp's OTPMiddleware
    return bool(check and check())


def pending_step(user: Any) -> str | None:
    """What a signed-in staff member still owes this session: VERIFY, SETUP or None."""
    if not settings.STAFF_TOTP_REQUIRED or not getattr(user, "is_authenticated", False):
        return None
    if not (user.is_staff or user.is_superuser) or is_verified(user):
        return None
    if totp_device(user) is not None:
        return VERIFY
    return SETUP if must_enrol(user) else None


def status_text(user: Any) -> str:
    """The second factor as the admin and the account page describe it."""
    device = totp_device(user)
    if device is None:
        return "none" + (" (required for this role)" if must_enrol(user) else "")
    added = f" since {device.created_at:%Y-%m-%d}" if device.created_at else ""
    return f"{APP_LABEL}{added}, {recovery_codes_left(user)} recovery codes left"


# --- Where to send them ----------------------------------------------------------


def safe_next(request: HttpRequest, value: str | None) -> str:
    """``value`` when it is a path on this site, else ""."""
    if value and url_has_allowed_host_and_scheme(
        value, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        parts = urlsplit(value)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        # "http://host//evil.com" passes the host check, and its path "//evil.com" is
        # another site to a browser: the path itself must be a local one.
        if path.startswith("/") and not path.startswith(("//", "/\\")) and "\\" not in path:
            return path
    return ""


def _wants_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _page_to_return_to(request: HttpRequest) -> str:
    """This page for a plain GET; for htmx, the page the fragment request came from."""
    if _wants_htmx(request):
        return safe_next(request, request.headers.get("HX-Current-URL"))
    return request.get_full_path() if request.method == "GET" else ""


def login_redirect(request: HttpRequest) -> HttpResponse:
    """Send the browser (the whole page, not an htmx fragment) to sign in, then back."""
    return _redirect(request, resolve_url(settings.LOGIN_URL), _page_to_return_to(request))


def step_redirect(request: HttpRequest, step: str, next_url: str | None = None) -> HttpResponse:
    """Send the browser to the verify or setup page, then back to ``next_url``."""
    back = _page_to_return_to(request) if next_url is None else next_url
    return _redirect(request, reverse(f"account:{step}"), back)


def _redirect(request: HttpRequest, url: str, back: str) -> HttpResponse:
    if back:
        url = f"{url}?{urlencode({'next': back})}"
    if _wants_htmx(request):
        # A 302 would be followed by htmx and its page swapped into a fragment.
        return HttpResponseClientRedirect(url)
    return HttpResponseRedirect(url)


class SecondFactorMiddleware:
    """Holds a staff member who owes a second factor on its pages (after OTPMiddleware)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: Any, args: Any, kwargs: Any
    ) -> HttpResponse | None:
        if not settings.STAFF_TOTP_REQUIRED:
            return None  # no query at all when it is off
        match = request.resolver_match
        if match is None or match.view_name in OPEN_VIEWS or match.namespace in OPEN_NAMESPACES:
            # The code and setup pages show no navigation the user cannot use yet.
            request.second_factor_pending = pending_step(request.user)  # type: ignore[attr-defined]
            return None
        step = pending_step(request.user)
        return None if step is None else step_redirect(request, step)


# --- The admin behind the same sign-in -------------------------------------------


class StaffAdminSite(AdminSite):
    """Django's admin, signed into through /login/ and the second factor."""

    def has_permission(self, request: HttpRequest) -> bool:
        return super().has_permission(request) and pending_step(request.user) is None

    @method_decorator(never_cache)
    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        from django.contrib.auth.views import redirect_to_login

        next_url = safe_next(request, request.GET.get("next")) or reverse("admin:index")
        if not request.user.is_authenticated:
            return redirect_to_login(next_url)
        if self.has_permission(request):
            return HttpResponseRedirect(next_url)
        step = pending_step(request.user)
        if step is not None:
            return step_redirect(request, step, next_url)
        # Sending a signed-in customer back to /login/ would loop: it sends them here.
        raise PermissionDenied("The admin is for staff accounts.")


class StaffAdminConfig(AdminConfig):
    """``django.contrib.admin`` with ``StaffAdminSite`` as ``admin.site``."""

    default_site = "users.second_factor.StaffAdminSite"


# --- Writes ----------------------------------------------------------------------


def second_factor_start(*, user: Any) -> TOTPDevice:
    """The device being set up: the one whose QR code was already shown, or a new one.

    Reusing it means reloading the setup page does not invalidate a code the
    person has just scanned.
    """
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = totp_device(user, confirmed=False)
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=APP_LABEL, confirmed=False)
    return device


def second_factor_enrol(*, device: TOTPDevice, code: str, actor: Actor) -> list[str] | None:
    """Confirm ``device`` with its first code and issue fresh recovery codes.

    Returns the recovery codes (to be shown once), or None when the code is wrong.
    """
    import django_otp
    from django.db import transaction
    from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from audit.services import record

    user = device.user
    with transaction.atomic():
        if django_otp.verify_token(user, device.persistent_id, code) is None:
            _refused(user, "setup", actor)
            return None
        codes_before = recovery_codes_left(user)
        TOTPDevice.objects.filter(user=user, confirmed=True).delete()
        TOTPDevice.objects.filter(pk=device.pk).update(confirmed=True)
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        StaticDevice.objects.filter(user=user).delete()
        recovery = StaticDevice.objects.create(user=user, name="recovery codes", confirmed=True)
        codes: set[str] = set()
        while len(codes) < RECOVERY_CODE_COUNT:
            codes.add(StaticToken.random_token())
        StaticToken.objects.bulk_create(StaticToken(device=recovery, token=c) for c in codes)
        record(
            actor=actor,
            obj=user,
            changes={
                "second_factor": [None, APP_LABEL],
                "recovery_codes_left": [codes_before, RECOVERY_CODE_COUNT],
            },
        )
    device.confirmed = True
    return sorted(codes)


@dataclass(frozen=True)
class CodeCheck:
    """The outcome of a sign-in code: the device that took it, or why none did."""

    device: Device | None = None
    locked_until: datetime | None = None
    recovery_codes_left: int | None = None  # set when a recovery code was used


def second_factor_verify(*, user: Any, code: str, actor: Actor) -> CodeCheck:
    """Check a 6-digit app code or a recovery code (used up and audited)."""
    import django_otp
    from django.db import transaction

    from audit.services import record

    device: Device | None
    device, kind = (
        (totp_device(user), "app code")
        if TOTP_CODE.fullmatch(code)
        else (recovery_device(user), "recovery code")
    )
    if device is None:
        _refused(user, kind, actor)
        return CodeCheck()
    allowed, why = device.verify_is_allowed()
    if not allowed:
        _refused(user, kind, actor, "throttled")
        return CodeCheck(locked_until=(why or {}).get("locked_until"))
    with transaction.atomic():
        verified = django_otp.verify_token(user, device.persistent_id, code)
        if verified is None:
            _refused(user, kind, actor)
            return CodeCheck()
        if kind == "app code":
            return CodeCheck(device=verified)
        left = recovery_codes_left(user)
        record(actor=actor, obj=user, changes={"recovery_codes_left": [left + 1, left]})
    log.warning(
        "recovery code used: user=%s request_id=%s left=%s", user.pk, actor.request_id, left
    )
    return CodeCheck(device=verified, recovery_codes_left=left)


def second_factor_reset(*, user: Any, actor: Actor) -> bool:
    """Remove the user's app and recovery codes; they set it up again at next sign-in.

    Their verified sessions end with it: django-otp finds no device behind them.
    Returns False (and records nothing) when there was nothing to reset.
    """
    from django.db import transaction
    from django_otp.plugins.otp_static.models import StaticDevice
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from audit.services import record

    with transaction.atomic():
        had_app = TOTPDevice.objects.filter(user=user, confirmed=True).exists()
        left = recovery_codes_left(user)
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        if not (had_app or left):
            return False
        record(
            actor=actor,
            obj=user,
            changes={
                "second_factor": [APP_LABEL if had_app else None, None],
                "recovery_codes_left": [left, 0],
            },
        )
    return True


def _refused(user: Any, kind: str, actor: Actor, reason: str = "wrong code") -> None:
    # Never the code itself: an unused recovery code in a log line is a credential.
    log.warning(
        "second factor refused: user=%s kind=%s reason=%s request_id=%s",
        user.pk,
        kind,
        reason,
        actor.request_id,
    )
