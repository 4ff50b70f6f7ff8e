from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm

from .models import ApiToken, User
from .services import api_token_create, api_token_revoke


class UserChangeFormByEmail(UserChangeForm):
    class Meta(UserChangeForm.Meta):
        model = User
        fields = "__all__"


class UserCreationFormByEmail(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email",)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    form = UserChangeFormByEmail
    add_form = UserCreationFormByEmail
    list_display = ("email", "name", "id", "is_staff", "is_superuser", "is_active", "date_joined")
    list_filter = ("is_staff", "is_superuser", "is_active", "groups")
    search_fields = ("email", "name", "=id")
    ordering = ("email", "id")
    readonly_fields = ("id", "last_login", "date_joined", "updated_at")
    fieldsets = (
        (None, {"fields": ("id", "email", "password")}),
        ("Profile", {"fields": ("name",)}),
        (
            "Permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
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


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Staff issue tokens (the secret is shown once, on creation) and revoke them."""

    list_display = (
        "display_prefix",
        "name",
        "user",
        "status",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    )
    list_filter = (("revoked_at", admin.EmptyFieldListFilter), "expires_at")
    list_select_related = ("user",)
    search_fields = ("prefix", "name", "user__email")
    autocomplete_fields = ("user",)
    actions = ("revoke",)
    readonly_fields = ("display_prefix", "status", "created_at", "last_used_at", "revoked_at")

    def get_fields(self, request: Any, obj: ApiToken | None = None) -> tuple[str, ...]:
        if obj is None:
            return ("user", "name", "expires_at")
        return (
            "display_prefix",
            "user",
            "name",
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
            super().save_model(request, obj, form, change)
            return
        created, token = api_token_create(user=obj.user, name=obj.name, expires_at=obj.expires_at)
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
            api_token_revoke(api_token=api_token)
            count += 1
        messages.success(request, f"Revoked {count} token(s).")
