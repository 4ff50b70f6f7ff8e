"""The limits every input meets, in one place, whatever door it comes through.

The model (``LimitedModel.clean_fields``), the console's and the admin's
forms (through the model), the API (its serializers and its JSON parser),
the importer and the request guard (``core.middleware``) all ask this module.
Each limit has a stated default; ``settings.SWITCHBOARD_LIMITS`` overrides
any of them by name, for example ``{"description": 20_000}``.

Besides sizes, two rules hold for every string and every JSON key: no NUL
character (PostgreSQL cannot store one in text or jsonb) and no lone UTF-16
surrogate (it cannot be encoded as UTF-8, so no database, log or page can
hold it).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from .logging import escape_controls

DEFAULTS: dict[str, int] = {
    # Text, in characters. Labels and names are also the columns' max_length.
    "label": 255,
    "description": 10_000,
    "initial_message": 10_000,
    "prompt_content": 100_000,
    "text": 10_000,  # any other free-text column
    "url": 2_048,
    "reason": 500,  # why a change was made (audit.reasons): a sentence or a ticket reference
    "view_name": 80,  # a saved view of the inventory (console.models.SavedView): a short name
    "view_query": 2_000,  # its stored query string: filters, search, sort and columns
    # A JSON column: its compact UTF-8 encoding in bytes, and its nesting depth
    # ({"a": 1} is depth 1, {"a": {"b": 1}} depth 2).
    "json_bytes": 65_536,
    "json_depth": 10,
    # A request: the body of an API call, one query parameter's value, the
    # number of query parameters.
    "api_body_bytes": 1_048_576,
    "query_value": 1_000,
    "query_params": 100,
    # The importer: the file, and how many errors it lists before it stops.
    "import_bytes": 256 * 1_048_576,
    "import_errors": 100,
}

# Free-text columns whose limit is not "text" (matched by field name).
TEXT_LIMITS = {
    "description": "description",
    "initial_message": "initial_message",
    "content": "prompt_content",
}


def limit(name: str) -> int:
    """The limit called ``name``: the setting's override, else the default."""
    overrides = getattr(settings, "SWITCHBOARD_LIMITS", None) or {}
    return int(overrides.get(name, DEFAULTS[name]))


_SURROGATE = re.compile("[\ud800-\udfff]")


def string_problem(value: str) -> str | None:
    """Why a string cannot be stored, or None: a NUL or a lone surrogate."""
    if "\x00" in value:
        return "contains a NUL character (\\u0000)"
    if _SURROGATE.search(value):
        return "contains a lone UTF-16 surrogate (not valid Unicode text)"
    return None


def _path(base: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{base}[{key}]"
    # A path names the place without carrying the bad characters along.
    return f"{base}.{escape_controls(str(key))}"


def walk_json(
    value: Any, path: str, prune: Callable[[Any], bool] | None = None
) -> Iterator[tuple[Any, str, int, bool]]:
    """Every (node, path, depth, is_key) of a JSON tree, iteratively (no recursion).

    The one walk of stored and submitted JSON (the limits here, the sealed-value
    checks of ``vault.fields``). A node for which ``prune`` is true is yielded
    but not entered (a sealed envelope, say).
    """
    stack = [(value, path, 0)]
    while stack:
        node, where, level = stack.pop()
        yield node, where, level, False
        if prune is not None and prune(node):
            continue
        if isinstance(node, dict):
            for key, child in node.items():
                yield key, _path(where, key), level, True
                stack.append((child, _path(where, key), level + 1))
        elif isinstance(node, list | tuple):
            for index, child in enumerate(node):
                stack.append((child, _path(where, index), level + 1))


def json_problems(value: Any, path: str) -> list[str]:
    """What breaks the JSON rules in ``value``, each message naming its path."""
    problems: list[str] = []
    max_depth = limit("json_depth")
    deepest = 0
    for node, where, level, is_key in walk_json(value, path):
        if is_key:
            problem = string_problem(str(node))
            if problem:
                problems.append(f"{where}: the key {problem}.")
            continue
        if isinstance(node, dict | list | tuple):
            deepest = max(deepest, level + 1 if node else level)
            if deepest > max_depth:
                problems.append(f"{where}: nested deeper than {max_depth} levels.")
                return problems  # its children would only repeat it
        elif isinstance(node, str):
            problem = string_problem(node)
            if problem:
                problems.append(f"{where}: the value {problem}.")
        elif isinstance(node, float) and not math.isfinite(node):
            problems.append(f"{where}: NaN and Infinity are not JSON numbers.")
    if not problems:
        size = len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())
        if size > limit("json_bytes"):
            problems.append(
                f"{path}: {size:,} bytes of JSON; the limit is {limit('json_bytes'):,} bytes."
            )
    return problems[:20]


# The key under which vault.fields seals a secret ({"__sealed__": "v1:...",
# "preview": "..."}). Only Switchboard writes it: no input may carry one, for a
# copied envelope would carry another row's ciphertext (another tenant's secret).
SEALED_KEY = "__sealed__"


def sealed_key_problems(value: Any, path: str) -> list[str]:
    """Where input carries the reserved ``__sealed__`` key, each naming its path."""
    return [
        f"{where.removesuffix('.' + SEALED_KEY)}: {SEALED_KEY} is reserved for values "
        "sealed by Switchboard; send the value itself, or its masked form to keep it."
        for node, where, _level, is_key in walk_json(value, path)
        if is_key and node == SEALED_KEY
    ][:20]


def text_limit_name(field_name: str) -> str:
    return TEXT_LIMITS.get(field_name, "text")


def text_problems(value: str, path: str, limit_name: str | None) -> list[str]:
    """A string's problems: encoding, and length when it has a limit."""
    problems = []
    problem = string_problem(value)
    if problem:
        problems.append(f"{path}: {problem}.")
    if limit_name is not None and len(value) > limit(limit_name):
        problems.append(f"{path}: {len(value):,} characters; the limit is {limit(limit_name):,}.")
    return problems


def field_problems(model_field: Any, value: Any) -> list[str]:
    """The limit problems of one model field's value (Django fields, duck-typed)."""
    from django.db import models

    name = model_field.name
    if value is None:
        return []
    if isinstance(model_field, models.JSONField):
        return json_problems(value, name)
    if isinstance(model_field, models.TextField) and not hasattr(value, "sealed"):
        return text_problems(str(value), name, text_limit_name(name))
    if isinstance(model_field, models.CharField) and isinstance(value, str):
        # max_length is the column's own validator; here only what it misses.
        return text_problems(value, name, None)
    return []


def model_problems(instance: Any, exclude: Any = None) -> dict[str, list[str]]:
    """Every limit problem of a model instance, by field name."""
    exclude = set(exclude or ())
    errors: dict[str, list[str]] = {}
    for f in instance._meta.concrete_fields:
        if f.name in exclude or f.attname in exclude or not f.editable:
            continue
        problems = field_problems(f, getattr(instance, f.attname))
        if problems:
            errors[f.name] = problems
    return errors


class LimitedModel:
    """Mixin: ``full_clean`` also checks ``core.limits`` on every editable field."""

    def clean_fields(self, exclude: Any = None) -> None:
        errors: dict[str, list[Any]] = {}
        try:
            super().clean_fields(exclude)  # type: ignore[misc]
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        for name, problems in model_problems(self, exclude).items():
            if name not in errors:  # one complaint per field: the first is the one to fix
                errors[name] = [ValidationError(p, code="limit") for p in problems]
        if errors:
            raise ValidationError(errors)


def loads_bounded(text: str | bytes) -> Any:
    """``json.loads`` that refuses NaN/Infinity and turns deep nesting into ValueError."""

    def no_constants(name: str) -> Any:
        raise ValueError(f"{name} is not a JSON number")

    try:
        return json.loads(text, parse_constant=no_constants)
    except RecursionError:
        raise ValueError(f"nested too deeply (the limit is {limit('json_depth')} levels)") from None


class BoundedJSONFormField(forms.JSONField):
    """A form's JSON field that parses with ``loads_bounded``: deep nesting, NaN or
    Infinity is a form error, not a RecursionError (a 500 in the admin before).

    What it parses meets ``json_problems`` (a NUL or a lone surrogate in a key or
    a string, depth, size) and carries no ``__sealed__`` key: no form sends one.
    """

    def to_python(self, value: Any) -> Any:
        if self.disabled:
            return super().to_python(value)
        if not (value in self.empty_values or isinstance(value, list | dict | int)):
            try:
                loads_bounded(value)
            except json.JSONDecodeError:
                pass  # Django's own message for plain syntax errors
            except ValueError as exc:
                raise ValidationError(f"Not valid JSON: {exc}.", code="invalid") from None
        parsed = super().to_python(value)
        problems = json_problems(parsed, "JSON") + sealed_key_problems(parsed, "JSON")
        if problems:
            raise ValidationError(problems, code="invalid")
        return parsed

    def bound_data(self, data: Any, initial: Any) -> Any:
        # Re-rendering the form parses the submitted text again: bounded here too,
        # and a value that cannot be shown again (a lone surrogate cannot be encoded
        # in the page: a 500 before) is shown as it was typed.
        if self.disabled or data is None:
            return super().bound_data(data, initial)
        try:
            parsed = loads_bounded(data)
        except ValueError:
            return forms.fields.InvalidJSONInput(data)
        if json_problems(parsed, "JSON"):
            return forms.fields.InvalidJSONInput(data)
        return super().bound_data(data, initial)

    def prepare_value(self, value: Any) -> Any:
        # Nothing typed, or nothing stored, shows as an empty box: "null" in a form
        # reads as a value to keep (and was saved back as JSON null).
        if value is None:
            return ""
        return super().prepare_value(value)
