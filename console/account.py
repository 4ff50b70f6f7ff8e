"""A staff member's account page and the second factor's two pages: verify and set up.

Every page renders in full (none is swapped by htmx): a half-signed-in user
reaches them through a redirect, or an ``HX-Redirect`` from an htmx request.
"""

from __future__ import annotations

from base64 import b32encode

import django_otp
import segno
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_http_methods

from audit.models import Source
from audit.services import Actor
from console.access import staff_view
from console.forms.account import SetupCodeForm, SignInCodeForm
from users import second_factor as sf


def _next(request: HttpRequest) -> str:
    return sf.safe_next(request, request.POST.get("next") or request.GET.get("next"))


def _onwards(request: HttpRequest, next_url: str) -> HttpResponse:
    return redirect(next_url or resolve_url(settings.LOGIN_REDIRECT_URL))


def _signed_in_with(request: HttpRequest, device: object) -> None:
    # A new session id for the more trusted session, as Django does at sign-in.
    request.session.cycle_key()
    django_otp.login(request, device)


@require_GET
@staff_view()
def account_detail(request: HttpRequest) -> HttpResponse:
    user = request.user
    device = sf.totp_device(user)
    return render(
        request,
        "users/account.html",
        {
            "device": device,
            "codes_left": sf.recovery_codes_left(user) if device else 0,
            "required": sf.must_enrol(user),
            "enforced": settings.STAFF_TOTP_REQUIRED,
            "roles": [g.name for g in user.groups.order_by("name")],
        },
    )


@require_http_methods(["GET", "POST"])
@staff_view()
def second_factor_verify(request: HttpRequest) -> HttpResponse:
    """The second step of signing in: a code from the app, or a recovery code."""
    next_url = _next(request)
    step = sf.pending_step(request.user)
    if step == sf.SETUP:
        return sf.step_redirect(request, sf.SETUP, next_url)
    if step is None:
        return _onwards(request, next_url)
    form = SignInCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        check = sf.second_factor_verify(
            user=request.user,
            code=form.cleaned_data["code"],
            actor=Actor.for_request(request, Source.DASHBOARD),
        )
        if check.device is not None:
            _signed_in_with(request, check.device)
            if check.recovery_codes_left is not None:
                messages.warning(
                    request,
                    f"You signed in with a recovery code; {check.recovery_codes_left} left. "
                    "If you lost your phone, ask a superuser to reset your second factor.",
                    extra_tags="warn",
                )
            return _onwards(request, next_url)
        if check.locked_until is not None:
            wait = max(1, int((check.locked_until - timezone.now()).total_seconds()) + 1)
            form.add_error("code", f"Too many wrong codes. Try again in {wait} seconds.")
        else:
            form.add_error("code", "That code is not right, or was already used.")
    return render(request, "users/verify.html", {"form": form, "next": next_url})


@require_http_methods(["GET", "POST"])
@staff_view()
def second_factor_setup(request: HttpRequest) -> HttpResponse:
    """Add an authenticator app: scan the key, confirm with its first code, get
    recovery codes (shown once, on this answer only)."""
    user = request.user
    next_url = _next(request)
    if sf.totp_device(user) is not None:
        # Never a second device before the first has been used this session.
        if sf.pending_step(user) == sf.VERIFY:
            return sf.step_redirect(request, sf.VERIFY, next_url)
        messages.info(request, "Your second factor is already set up.", extra_tags="success")
        return redirect("account:detail")
    device = sf.second_factor_start(user=user)
    form = SetupCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = sf.second_factor_enrol(
            device=device,
            code=form.cleaned_data["code"],
            actor=Actor.for_request(request, Source.DASHBOARD),
        )
        if codes is not None:
            _signed_in_with(request, device)
            return render(
                request,
                "users/recovery_codes.html",
                {
                    "codes": [f"{c[:4]}-{c[4:]}" for c in codes],
                    "next": next_url or resolve_url(settings.LOGIN_REDIRECT_URL),
                },
            )
        form.add_error(
            "code",
            "That code is not right. Check that your phone's clock is set automatically, "
            "then enter the code the app shows now.",
        )
    key = b32encode(device.bin_key).decode()
    # segno writes the SVG from the otpauth:// URL: only path data, nothing user-typed.
    qr_svg = segno.make(device.config_url, error="m").svg_inline(
        scale=4, dark="#000", light="#fff", svgclass="qr", title="QR code of your key"
    )
    return render(
        request,
        "users/setup.html",
        {
            "form": form,
            "next": next_url,
            "qr_svg": mark_safe(qr_svg),  # noqa: S308 - generated by segno, see above
            "key_groups": [key[i : i + 4] for i in range(0, len(key), 4)],
            "required": sf.must_enrol(user),
        },
    )
