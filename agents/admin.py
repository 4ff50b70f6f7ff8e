"""Admin pages for agents and their parts. No page shows a secret.

Credentials are write-only here: the form shows the masked preview and takes
a new JSON object; leaving it blank keeps what is stored.
"""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.admin.widgets import AutocompleteMixin
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html_join

from audit.admin import AuditedAdmin, VersionedAdminForm
from core.limits import BoundedJSONFormField, json_problems
from vault.fields import masked_leftovers
from vault.masking import mask_json

from .models import AccountConnection, Action, Agent, Prompt, PromptTemplate, Webhook
from .services import DeleteRefused, graph_object_delete, graph_object_save, impact


def masked_json_display(field: str) -> Any:
    """A read-only admin column showing a JSON field with secret-named keys masked."""

    def display(obj: Any) -> str:
        return json.dumps(mask_json(getattr(obj, field) or {}), indent=2, ensure_ascii=False)

    display.short_description = f"{field.replace('_', ' ')} (secrets masked)"  # type: ignore[attr-defined]
    display.__name__ = f"masked_{field}"
    return display


def scope_autocompletes_to_owner(form_class: Any, obj: Any) -> Any:
    """Point a form's autocompletes (agent, prompt, webhook...) at the object's owner only.

    Django's autocomplete knows the field, not the object being edited: the
    owner goes into the widget's URL (select2 adds its own parameters after it)
    and ``OwnedAdmin.get_search_results`` keeps that owner's objects. The
    services refuse a link to another customer's object anyway; this keeps
    them out of the list.
    """
    owner = getattr(obj, "user_id", None)
    if owner is None:
        return form_class
    for name, field in form_class.base_fields.items():
        widget = getattr(field.widget, "widget", field.widget)  # RelatedFieldWidgetWrapper
        if name != "user" and isinstance(widget, AutocompleteMixin):
            # build_attrs writes data-ajax--url from get_url(): this widget's own.
            url = f"{widget.get_url()}?{urlencode({'owner': owner})}"
            widget.get_url = lambda url=url: url  # type: ignore[method-assign]
    return form_class


class OwnedAdmin(AuditedAdmin):
    list_select_related = ("user",)
    autocomplete_fields = ("user",)
    readonly_fields = ("id", "version", "created_at", "updated_at")
    show_full_result_count = False  # a COUNT(*) per changelist view is costly on big tables
    # Free-form JSON that may carry secrets (an api_key in a voice): never put
    # in an editable widget, shown masked instead.
    secret_json_fields: tuple[str, ...] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Named methods (masked_voice...) so that the admin's form machinery,
        # which matches read-only fields by name, leaves them out of the form.
        for field in self.secret_json_fields:
            setattr(self, f"masked_{field}", masked_json_display(field))

    def get_form(self, request: Any, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        return scope_autocompletes_to_owner(super().get_form(request, obj, change, **kwargs), obj)

    def get_search_results(self, request: Any, queryset: Any, search_term: str) -> Any:
        queryset, duplicates = super().get_search_results(request, queryset, search_term)
        owner = request.GET.get("owner") if "field_name" in request.GET else None
        if owner:
            try:
                queryset = queryset.filter(user_id=uuid.UUID(owner))
            except ValueError:
                queryset = queryset.none()
        return queryset, duplicates

    def write(
        self, request: Any, obj: Any, expected_version: int | None, related: dict[str, Any]
    ) -> None:
        # The one write path of the agent graph: compare-and-set and the audit entry.
        # The form has validated the object (ModelForm runs full_clean).
        graph_object_save(
            obj=obj,
            actor=self.actor(request),
            expected_version=expected_version,
            actions=related.get("actions"),
            clean=False,
        )

    # Deleting what others depend on: refused with the list (the links are RESTRICT),
    # or, once the user confirms the impact page, every dependent is unlinked first,
    # each an audited write (agents.services.graph_object_delete).
    def delete_view(self, request: Any, object_id: str, extra_context: Any = None) -> Any:
        obj = self.get_object(request, unquote(object_id))
        if obj is None or not self.has_delete_permission(request, obj):
            return super().delete_view(request, object_id, extra_context)
        dependents = impact(obj)
        if not dependents:
            return super().delete_view(request, object_id, extra_context)
        if request.method == "POST" and request.POST.get("unlink") == "confirm":
            graph_object_delete(obj=obj, actor=self.actor(request), unlink=True)
            self.message_user(
                request,
                f"Deleted {obj} after unlinking: "
                + "; ".join(d.summary.replace(" will ", " now ") for d in dependents)
                + ". Each change is in the audit trail.",
                messages.SUCCESS,
            )
            return HttpResponseRedirect(
                reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_changelist")
            )
        context = {
            **self.admin_site.each_context(request),
            "title": f"Delete {obj._meta.verbose_name} “{obj}”?",
            "object": obj,
            "opts": obj._meta,
            "dependents": dependents,
        }
        return TemplateResponse(request, "admin/agents/delete_with_dependents.html", context)

    def delete_model(self, request: Any, obj: Any) -> None:
        graph_object_delete(obj=obj, actor=self.actor(request))

    def delete_queryset(self, request: Any, queryset: Any) -> None:
        for obj in queryset:
            try:
                self.delete_model(request, obj)
            except DeleteRefused as refused:
                self.message_user(request, str(refused), messages.ERROR)

    def get_exclude(self, request: Any, obj: Any = None) -> tuple[str, ...]:
        return (*(super().get_exclude(request, obj) or ()), *self.secret_json_fields)

    def get_readonly_fields(self, request: Any, obj: Any = None) -> tuple[Any, ...]:
        masked = tuple(f"masked_{field}" for field in self.secret_json_fields)
        # The owner is fixed once created: moving an object to another customer would
        # leave the agents and numbers that use it linked across customers.
        owner = ("user",) if obj is not None else ()
        return (*super().get_readonly_fields(request, obj), *owner, *masked)

    def get_actions(self, request: Any) -> dict[str, Any]:
        # Django's "delete selected" reports every object deleted even when the
        # service refused some: this one says which were deleted and which not.
        actions = super().get_actions(request)
        if "delete_selected" in actions:
            actions["delete_selected"] = (
                type(self).delete_unused,
                "delete_selected",
                "Delete selected (those nothing depends on)",
            )
        return actions

    def delete_unused(self, request: Any, queryset: Any) -> None:
        deleted, refused = [], []
        for obj in queryset:
            try:
                graph_object_delete(obj=obj, actor=self.actor(request))
                deleted.append(str(obj))
            except DeleteRefused as refusal:
                refused.append(str(refusal))
        if deleted:
            self.message_user(request, f"Deleted {len(deleted)}: {', '.join(deleted)}.")
        for line in refused:
            self.message_user(request, line, messages.ERROR)


@admin.register(PromptTemplate)
class PromptTemplateAdmin(OwnedAdmin):
    list_display = ("label", "user", "required_context_keys", "updated_at")
    search_fields = ("label", "=id", "user__email")


@admin.register(Prompt)
class PromptAdmin(OwnedAdmin):
    list_display = ("label", "type", "user", "prompt_template", "updated_at")
    list_filter = ("type",)
    list_select_related = ("user", "prompt_template")
    search_fields = ("label", "=id", "user__email")
    autocomplete_fields = ("user", "prompt_template")


@admin.register(Action)
class ActionAdmin(OwnedAdmin):
    list_display = ("label", "type", "user", "updated_at")
    list_filter = ("type",)
    search_fields = ("label", "=id", "user__email")
    secret_json_fields = ("config", "action_trigger")


@admin.register(Webhook)
class WebhookAdmin(OwnedAdmin):
    list_display = ("label", "url", "method", "user", "updated_at")
    list_filter = ("method",)
    search_fields = ("label", "url", "=id", "user__email")


class WriteOnlyTextarea(forms.Textarea):
    """Never renders a value: a credential typed into a form that failed validation
    is not sent back in the page (as a password input does)."""

    def format_value(self, value: Any) -> None:
        return None


class AccountConnectionForm(VersionedAdminForm):
    """Credentials are write-only: blank keeps the stored value."""

    new_credentials = BoundedJSONFormField(
        required=False,
        label="Replace credentials",
        help_text=(
            "A JSON object of key names to values, e.g. "
            '{"twilio_account_sid": "AC...", "twilio_auth_token": "..."}. '
            "Leave blank to keep the stored credentials; they are never shown."
        ),
        widget=WriteOnlyTextarea(attrs={"rows": 4, "autocomplete": "off", "spellcheck": "false"}),
    )

    class Meta:
        model = AccountConnection
        fields = (
            "user",
            "label",
            "description",
            "type",
            "steering_pool",
            "account_supports_any_caller_id",
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Never pre-fill: the field's initial value would be rendered in the page.
        self.fields["new_credentials"].initial = None

    def clean_new_credentials(self) -> Any:
        value = self.cleaned_data.get("new_credentials")
        if value in (None, "", {}):
            return None
        if not isinstance(value, dict) or not value:
            raise forms.ValidationError("Enter a JSON object of key names to values.")
        problems = json_problems(value, "credentials")  # also checked by the form field
        if problems:
            raise forms.ValidationError(problems)
        # At any depth: credentials are replaced whole here, so a masked preview
        # pasted back would be stored as the secret (a nested one was, before).
        masked = masked_leftovers(value, "credentials")
        if masked:
            raise forms.ValidationError(
                f"A value is a masked preview, not the secret ({', '.join(sorted(masked))}): "
                "enter the real value."
            )
        return value

    def save(self, commit: bool = False) -> AccountConnection:
        # The admin saves through agents.services (AuditedAdmin.write), never here.
        connection = super().save(commit=False)
        new = self.cleaned_data.get("new_credentials")
        if new is not None:
            connection.set_credentials(new)
        return connection


@admin.register(AccountConnection)
class AccountConnectionAdmin(OwnedAdmin):
    form = AccountConnectionForm
    list_display = ("label", "type", "user", "masked_credentials", "updated_at")
    list_filter = ("type", "account_supports_any_caller_id")
    search_fields = ("label", "=id", "user__email")
    readonly_fields = (*OwnedAdmin.readonly_fields, "masked_credentials")
    fields = (
        "id",
        "user",
        "label",
        "description",
        "type",
        "masked_credentials",
        "new_credentials",
        "steering_pool",
        "account_supports_any_caller_id",
        "version",
        "created_at",
        "updated_at",
    )

    @admin.display(description="Credentials")
    def masked_credentials(self, obj: AccountConnection) -> str:
        preview = obj.credentials_preview or {}
        if not preview:
            return "—"
        # ensure_ascii=False: the mask's dots show as dots, not as the text "\u2022".
        return format_html_join(
            ", ", "{}: {}", ((k, json.dumps(v, ensure_ascii=False)) for k, v in preview.items())
        )


class AgentForm(VersionedAdminForm):
    class Meta:
        model = Agent
        # Secret JSON stays out of the form (shown masked, read-only).
        exclude = ("voice", "transcriber", "llm_fallback")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        actions = cleaned.get("actions")
        user = cleaned.get("user")
        if actions is not None and user is not None:
            foreign = [str(a) for a in actions if a.user_id != user.pk]
            if foreign:
                self.add_error("actions", f"Actions of another user: {', '.join(foreign)}.")
        return cleaned


@admin.register(Agent)
class AgentAdmin(OwnedAdmin):
    form = AgentForm
    list_display = ("name", "language", "user", "prompt", "webhook", "provider", "updated_at")
    list_filter = ("language", "provider", "enable_recording")
    list_select_related = ("user", "prompt", "webhook")
    search_fields = ("name", "label", "=id", "user__email")
    autocomplete_fields = ("user", "prompt", "webhook", "openai_account_connection", "actions")
    secret_json_fields = ("voice", "transcriber", "llm_fallback")
