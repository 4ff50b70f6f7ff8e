"""Why a change was made: an optional sentence or ticket reference on each audit entry.

Every door that writes takes one: the console's forms (``ReasonField``), the
admin (``audit.admin.VersionedAdminForm``), the API (the ``X-Change-Reason``
header) and the importer (``--reason``). Each checks it with ``clean_reason``
and puts it on the ``Actor`` it writes with; ``audit.services.record`` stores it
through ``stored_reason``.

The rule: at most ``limit("reason")`` characters (500), one line of text, no
control characters and no bidirectional overrides (which would make the trail
read differently from what it stores). A reason is free text, so a pasted
credential is masked before it is stored (``vault.masking.mask_text``, the
secret rule's value half): the trail never holds a secret, whatever was typed.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from core.limits import limit
from vault.masking import mask_text

# C0 and C1 controls (line breaks and tabs included), DEL, the Unicode line and
# paragraph separators, lone surrogates, and the bidirectional embeddings,
# overrides and isolates.
_REFUSED = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\u202a-\u202e\u2066-\u2069]")


def reason_problem(text: str) -> str | None:
    """Why ``text`` cannot be a change's reason, or None (it never echoes the text)."""
    if len(text) > limit("reason"):
        return f"A reason has at most {limit('reason'):,} characters (this one has {len(text):,})."
    if _REFUSED.search(text):
        return (
            "A reason is one line of text: no line breaks, tabs, control characters "
            "or direction overrides."
        )
    return None


def clean_reason(text: str | None) -> str:
    """``text`` without surrounding spaces, or ``ValidationError`` saying what is wrong."""
    text = (text or "").strip()
    problem = reason_problem(text)
    if problem:
        raise ValidationError(problem, code="invalid_reason")
    return text


def stored_reason(text: str) -> str:
    """A reason as the trail stores it: credential-shaped parts masked, within the limit.

    The last guard for a writer that skipped ``clean_reason``: refused
    characters become spaces instead of failing the write.
    """
    text = _REFUSED.sub(" ", text or "").strip()
    return mask_text(text)[: limit("reason")]


def _validate_reason(value: str) -> None:
    problem = reason_problem(value)
    if problem:
        raise ValidationError(problem, code="invalid_reason")


class ReasonField(forms.CharField):
    """The optional "why" of a change, for any form that writes (console or admin)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", "Reason")
        kwargs.setdefault("help_text", "Optional: why, or a ticket reference. Kept in the history.")
        kwargs.setdefault(
            "widget",
            forms.TextInput(
                attrs={"placeholder": "Why? e.g. SUP-1234, customer asked", "autocomplete": "off"}
            ),
        )
        # No max_length: an over-long reason gets the message that counts it.
        super().__init__(strip=True, **kwargs)
        self.widget.attrs.setdefault("maxlength", str(limit("reason")))
        self.validators.append(_validate_reason)
