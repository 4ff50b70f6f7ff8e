"""The import's upload: a file, its format and why (``console.imports``)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat

from audit.reasons import ReasonField


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        help_text="A CSV (number, label, description, inbound_agent, active, outbound_only; "
        "owner and provider to create numbers) or upstream JSON pages.",
    )
    format = forms.ChoiceField(
        choices=[("", "From the file's name"), ("csv", "CSV"), ("json", "JSON pages")],
        required=False,
    )
    reason = ReasonField()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        upload = data.get("file")
        if upload is None:
            return data
        maximum = settings.IMPORT_MAX_BYTES
        if upload.size > maximum:
            self.add_error(
                "file",
                f"The file is {filesizeformat(upload.size)}; the most an import takes is "
                f"{filesizeformat(maximum)}. Split it into several files.",
            )
        if upload.size == 0:
            self.add_error("file", "The file is empty.")
        fmt = data.get("format") or _format_of(upload.name or "")
        if fmt is None:
            self.add_error(
                "format", "Say whether the file is CSV or JSON (its name ends in neither)."
            )
        data["format"] = fmt
        return data


def _format_of(name: str) -> str | None:
    lowered = name.lower()
    if lowered.endswith(".csv"):
        return "csv"
    if lowered.endswith(".json"):
        return "json"
    return None


class ImportApplyForm(forms.Form):
    skip_refused = forms.BooleanField(required=False, label="Leave out the refused rows")
