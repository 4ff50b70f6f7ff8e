from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import (
    AdminPasswordChangeForm,
    AdminUserCreationForm,
    UserChangeForm,
)
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django_otp.plugins.otp_static import admin as _otp_static_admin  # noqa: F401
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp import admin as _otp_totp_admin  # noqa: F401
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.admin import ChangelistGuard
from audit.models import Source
from audit.services import Actor

from .models import ApiToken, User
from .second_factor import second_factor_reset, status_text
from .services import (
    api_token_create,
    api_token_revoke,
    api_token_update,
    group_delete,
    group_save,
    user_delete,
    user_save,
)


def _actor(request: Any) -> Actor:
    return Actor.for_request(request, Source.ADMIN)


# django-otp's device pages would show TOTP keys and recovery codes and let anyone
# with the permission edit them unaudited. Imported above so they are registered
# before this removes them; a superuser resets a user's second factor instead.
for _device in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(_device):
        admin.site.unregister(_device)


class _CaseInsensitiveEmail:
    """Emails are stored lower-cased and signed in with case-insensitively: an
    address another account has in any case is refused with a form error (the
    database's ``user_email_ci_unique`` would refuse it anyway, with a 500)."""

    instance: User
    cleaned_data: dict[str, Any]

    def clean_email(self) -> str:
        email = User.normalized_email(self.cleaned_data.get("email"))
        taken = User.objects.filter(email__iexact=email)
        if self.instance.pk is not None:
            taken = taken.exclude(pk=self.instance.pk)
        if email and taken.exists():
            raise ValidationError("A user with this email address already exists.", code="unique")
        return email


class UserChangeFormByEmail(_CaseInsensitiveEmail, UserChangeForm):
    class Meta(UserChangeForm.Meta):
        model = User
        fields = "__all__"


class UserCreationFormByEmail(_CaseInsensitiveEmail, AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email",)


# The actor of the password change in progress: Django's view builds the form
# with the user only, and the admin instance is shared between requests.
_password_actor: ContextVar[Actor | None] = ContextVar("password_actor", default=None)


class AuditedPasswordChangeForm(AdminPasswordChangeForm):
    """The admin's password page saves through ``users.services.user_save``: one
    entry whose ``password`` is a fingerprint of the hash, never the hash."""

    def save(self, commit: bool = True) -> User:
        user = super().save(commit=False)
        if commit:
            actor = _password_actor.get()
            if actor is None:  # only UserAdmin.user_change_password sets it
                raise RuntimeError("A password change needs an actor for its audit entry.")
            user_save(user=user, actor=actor)
        return user


@admin.register(User)
class UserAdmin(ChangelistGuard, BaseUserAdmin):
    form = UserChangeFormByEmail
    add_form = UserCreationFormByEmail
    change_password_form = AuditedPasswordChangeForm
    list_display = ("email", "name", "id", "is_staff", "is_superuser", "is_active", "date_joined")
    list_filter = ("is_staff", "is_superuser", "is_active", "groups")
    search_fields = ("email", "name", "=id")
    ordering = ("email", "id")
    readonly_fields = ("id", "last_login", "date_joined", "updated_at", "second_factor")
    actions = ("reset_second_factor",)
    fieldsets = (
        (None, {"fields": ("id", "email", "password")}),
        ("Profile", {"fields": ("name",)}),
        (
            "Permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Second factor", {"fields": ("second_factor",)}),
        ("Dates", {"fields": ("last_login", "date_joined", "updated_at")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "usable_password", "password1", "password2"),
            },
        ),
    )
    filter_horizontal = ("groups", "user_permissions")

    @admin.display(description="Second factor")
    def second_factor(self, obj: User) -> str:
        return status_text(obj) if obj.pk else "-"

    def has_reset_second_factor_permission(self, request: Any) -> bool:
        return request.user.is_superuser

    @admin.action(
        description="Reset second factor (they set it up again at next sign-in)",
        permissions=["reset_second_factor"],
    )
    def reset_second_factor(self, request: Any, queryset: Any) -> None:
        actor = _actor(request)
        reset = [u.email for u in queryset if second_factor_reset(user=u, actor=actor)]
        if reset:
            messages.success(request, f"Second factor reset for {', '.join(reset)}.")
        else:
            messages.info(request, "None of them had a second factor.")

    # Every account change goes through users.services.user_save, which audits it
    # and ends the sessions of a user who loses a role. The admin saves the row in
    # save_model and the groups in save_related: both happen in save_related here,
    # in one call, so the entry holds the whole change.
    def save_model(self, request: Any, obj: User, form: Any, change: bool) -> None:
        pass  # saved with its groups in save_related, through the service

    def save_related(self, request: Any, form: Any, formsets: Any, change: bool) -> None:
        user_save(
            user=form.instance,
            actor=_actor(request),
            groups=form.cleaned_data.get("groups"),
            permissions=form.cleaned_data.get("user_permissions"),
        )
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def delete_model(self, request: Any, obj: User) -> None:
        user_delete(user=obj, actor=_actor(request))

    def delete_queryset(self, request: Any, queryset: Any) -> None:
        for user in queryset:
            user_delete(user=user, actor=_actor(request))

    # The password page is Django's; its form saves through user_save (above), with
    # this request's actor. The user's other sessions end by the auth hash, which
    # covers the password; the admin's own session is kept if it is theirs.
    def user_change_password(self, request: Any, id: str, form_url: str = "") -> Any:
        token = _password_actor.set(_actor(request))
        try:
            with transaction.atomic():
                return super().user_change_password(request, id, form_url)
        finally:
            _password_actor.reset(token)


# Django's GroupAdmin saves a group and its permissions unaudited: adding
# change_user to a group would grant power to every member with no trace.
if admin.site.is_registered(Group):
    admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(ChangelistGuard, BaseGroupAdmin):
    """Groups through ``users.services.group_save``/``group_delete``: audited, and a
    permission taken away (or the group deleted) ends the members' sessions."""

    def save_model(self, request: Any, obj: Group, form: Any, change: bool) -> None:
        pass  # saved with its permissions in save_related, through the service

    def save_related(self, request: Any, form: Any, formsets: Any, change: bool) -> None:
        group_save(
            group=form.instance,
            actor=_actor(request),
            permissions=form.cleaned_data.get("permissions"),
        )
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def delete_model(self, request: Any, obj: Group) -> None:
        group_delete(group=obj, actor=_actor(request))

    def delete_queryset(self, request: Any, queryset: Any) -> None:
        for group in queryset:
            group_delete(group=group, actor=_actor(request))


@admin.register(ApiToken)
class ApiTokenAdmin(ChangelistGuard, admin.ModelAdmin):
    """Staff issue tokens (the secret is shown once, on creation) and revoke them."""

    list_display = (
        "display_prefix",
        "name",
        "user",
        "scope",
        "status",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    )
    list_filter = (("revoked_at", admin.EmptyFieldListFilter), "scope", "expires_at")
    list_select_related = ("user",)
    search_fields = ("prefix", "name", "user__email")
    autocomplete_fields = ("user",)
    actions = ("revoke",)
    readonly_fields = ("display_prefix", "status", "created_at", "last_used_at", "revoked_at")

    def get_fields(self, request: Any, obj: ApiToken | None = None) -> tuple[str, ...]:
        if obj is None:
            return ("user", "name", "scope", "expires_at")
        return (
            "display_prefix",
            "user",
            "name",
            "scope",
            "status",
            "created_at",
            "last_used_at",
            "expires_at",
            "revoked_at",
        )

    def get_readonly_fields(self, request: Any, obj: ApiToken | None = None) -> tuple[str, ...]:
        if obj is None:
            return ()
        return (*self.readonly_fields, "user")

    @admin.display(description="Token", ordering="prefix")
    def display_prefix(self, obj: ApiToken) -> str:
        return f"sb_{obj.prefix}_…"

    def save_model(self, request: Any, obj: ApiToken, form: Any, change: bool) -> None:
        if change:
            api_token_update(
                api_token=ApiToken.objects.get(pk=obj.pk),
                actor=_actor(request),
                name=obj.name,
                expires_at=obj.expires_at,
                scope=obj.scope,
            )
            return
        created, token = api_token_create(
            user=obj.user,
            name=obj.name,
            expires_at=obj.expires_at,
            scope=obj.scope,
            actor=_actor(request),
        )
        obj.pk = created.pk
        obj.prefix = created.prefix
        messages.warning(
            request,
            f"API token for {created.user.email}: {token} — copy it now, it will not be "
            "shown again.",
        )

    @admin.action(description="Revoke selected tokens")
    def revoke(self, request: Any, queryset: Any) -> None:
        count = 0
        for api_token in queryset.filter(revoked_at__isnull=True):
            api_token_revoke(api_token=api_token, actor=_actor(request))
            count += 1
        messages.success(request, f"Revoked {count} token(s).")

    def delete_model(self, request: Any, obj: ApiToken) -> None:
        # A token is revoked, never deleted: the trail and last-used dates stay.
        api_token_revoke(api_token=obj, actor=_actor(request))
        messages.info(request, f"{obj} was revoked instead of deleted; its history stays.")

    def delete_queryset(self, request: Any, queryset: Any) -> None:
        self.revoke(request, queryset)
