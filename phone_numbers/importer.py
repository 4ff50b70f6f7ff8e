"""Import of upstream ``GET /v1/numbers/list`` responses.

All or nothing, and every problem at once. Every nested object is upserted by
its id inside one transaction; each item gets its own savepoint, so an item
that fails (even with a database error, which on PostgreSQL aborts the whole
transaction otherwise) is rolled back alone and the next item can still be
checked. Every error is collected with its item index and field path; if
there is any, the whole import is rolled back and nothing is written.

Objects whose data did not change are not saved, so importing the same file
twice changes nothing (not even ``updated_at``). That includes an export
re-imported: masked secrets keep the stored ones (``KeepSecretsDescriptor``),
and a row stored before ``core.limits`` existed that breaks a limit is left as
stored with a warning instead of failing the import.
"""

from __future__ import annotations

import math
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, FieldDoesNotExist, ValidationError
from django.db import models, transaction
from django.views.decorators.debug import sensitive_variables

from agents.models import AccountConnection, Action, Agent, Prompt, PromptTemplate, Webhook
from agents.services import graph_object_save
from audit.models import Source
from audit.services import Actor, VersionConflict
from core.limits import SEALED_KEY, json_problems, limit, model_problems
from core.logging import escape_controls
from users.models import User
from users.services import user_save
from vault.fields import (
    keep_stored_credentials,
    plaintext,
    reveal,
)

from .models import PhoneNumber
from .services import phone_number_save


class ImportRejected(Exception):
    """The input is not importable: every error found, each naming its item and field.

    ``errors`` holds the first ``limit("import_errors")`` lines and ``more`` counts
    the rest; ``warnings`` are the notes about rows left as stored.
    """

    def __init__(
        self,
        errors: str | list[str],
        *,
        more: int = 0,
        warnings: list[str] | None = None,
        more_warnings: int = 0,
    ) -> None:
        self.errors = [errors] if isinstance(errors, str) else list(errors)
        self.more = more
        self.warnings = list(warnings or [])
        self.more_warnings = more_warnings
        super().__init__("\n".join(self.errors))

    @property
    def count(self) -> int:
        return len(self.errors) + self.more

    def lines(self) -> list[str]:
        """The errors as printed: one a line, then how many were left out."""
        return self.errors + _more_line(self.more, "error")

    def warning_lines(self) -> list[str]:
        return self.warnings + _more_line(self.more_warnings, "warning")


# For each model: the upstream keys copied onto same-named model fields, and
# the keys an object must have besides id and user_id.
SCALAR_FIELDS: dict[type[models.Model], tuple[str, ...]] = {
    PromptTemplate: ("label", "required_context_keys"),
    Prompt: (
        "label",
        "description",
        "content",
        "context_endpoint",
        "collect_fields",
        "type",
        "tags",
    ),
    Action: ("type", "label", "description", "config", "action_trigger"),
    Webhook: ("subscriptions", "url", "method", "label", "description"),
    AccountConnection: (
        "label",
        "description",
        "type",
        "steering_pool",
        "account_supports_any_caller_id",
    ),
    Agent: (
        "name",
        "language",
        "voice",
        "initial_message",
        "interrupt_sensitivity",
        "context_endpoint",
        "noise_suppression",
        "endpointing_sensitivity",
        "ivr_navigation_mode",
        "conversation_speed",
        "initial_message_delay",
        "openai_model_name_override",
        "ask_if_human_present_on_idle",
        "run_do_not_call_detection",
        "llm_fallback",
        "deepgram_keywords",
        "idle_time_seconds",
        "llm_temperature",
        "enable_recording",
        "provider",
        "model",
        "label",
        "description",
        "transcriber",
        "call_duration_sec",
        "max_idle_check_count",
    ),
    PhoneNumber: (
        "number",
        "active",
        "label",
        "description",
        "outbound_only",
        "example_context",
        "telephony_provider",
    ),
}
REQUIRED: dict[type[models.Model], tuple[str, ...]] = {
    PromptTemplate: (),
    Prompt: (),
    Action: ("type",),
    Webhook: ("url",),
    AccountConnection: ("type",),
    Agent: ("name",),
    PhoneNumber: ("number", "telephony_provider"),
}
# Validation codes that mean "over a limit": on a value left as stored they are
# a warning, not an error (the row was stored before the limit existed).
LIMIT_CODES = frozenset({"limit", "max_length"})
# How much deeper than a JSON field may be an item: item > inbound_agent >
# actions > action > config is four levels of structure above the field's own.
ITEM_STRUCTURE_DEPTH = 5
# An error line quotes at most this much of the input (a path through a 100 MB
# key, a value in a validator's message).
LINE_CHARS = 500


@dataclass
class ImportResult:
    """What an import did, per model, and the notes about rows left as stored."""

    created: Counter[str] = field(default_factory=Counter)
    updated: Counter[str] = field(default_factory=Counter)
    unchanged: Counter[str] = field(default_factory=Counter)
    warnings: list[str] = field(default_factory=list)
    more_warnings: int = 0

    def summary(self) -> str:
        names = sorted({*self.created, *self.updated, *self.unchanged})
        return "; ".join(
            f"{name}: {self.created[name]} created, {self.updated[name]} updated, "
            f"{self.unchanged[name]} unchanged"
            for name in names
        )

    def warning_lines(self) -> list[str]:
        return self.warnings + _more_line(self.more_warnings, "warning")


def _more_line(more: int, what: str) -> list[str]:
    if not more:
        return []
    plural = "s" if more != 1 else ""
    shown = limit("import_errors")
    return [f"... and {more:,} more {what}{plural} (only the first {shown} are listed)."]


def one_line(text: str, max_chars: int = LINE_CHARS) -> str:
    """``text`` safe for one line of a terminal or log: escapes and a bounded length.

    Paths and messages quote the input, which may hold a NUL, a newline, a lone
    surrogate (which no UTF-8 stream can write) or megabytes of text.
    """
    if len(text) > max_chars:
        text = text[:max_chars] + "…"
    return escape_controls(text)


class _Lines:
    """Lines kept up to a cap, and a count of the ones past it."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.lines: list[str] = []
        self.more = 0

    def add(self, line: str) -> None:
        if len(self.lines) < self.cap:
            self.lines.append(one_line(line))
        else:
            self.more += 1

    def __bool__(self) -> bool:
        return bool(self.lines) or self.more > 0


def items_of(document: Any) -> list[Any]:
    """The items of one page (``{"items": [...]}``) or of a JSON array of pages."""
    if isinstance(document, dict):
        if not isinstance(document.get("items"), list):
            raise ImportRejected('The document has no "items" list.')
        return document["items"]
    if isinstance(document, list):
        items: list[Any] = []
        for index, page in enumerate(document):
            if not isinstance(page, dict) or not isinstance(page.get("items"), list):
                raise ImportRejected(f'page {index}: not a page object with an "items" list.')
            items.extend(page["items"])
        return items
    raise ImportRejected("The document is neither a page object nor an array of pages.")


class ImportStopped(Exception):
    """The caller's ``progress`` asked to stop (a cancelled job); nothing was written."""


# Items between two calls of an import's ``progress``.
PROGRESS_EVERY = 200


def import_items(
    items: Iterable[Any],
    *,
    actor: Actor | None = None,
    progress: Callable[[int], bool] | None = None,
) -> ImportResult:
    """Upsert every item and its nested objects in one transaction, audited.

    Raises ``ImportRejected`` listing every error, after rolling everything back.
    ``progress(items done)`` is called every ``PROGRESS_EVERY`` items and at the end,
    from inside the transaction; when it returns False the import rolls back and
    raises ``ImportStopped``.
    """
    items = list(items)
    importer = _Importer(actor or Actor.for_command("import_numbers", Source.IMPORT))
    duplicates = _duplicate_items(items)
    with transaction.atomic():
        for index, item in enumerate(items):
            stop_here = progress is not None and index and index % PROGRESS_EVERY == 0
            if stop_here and not progress(index):  # type: ignore[misc]
                raise ImportStopped
            if index in duplicates:
                for line in duplicates[index]:
                    importer.errors.add(line)
                continue
            importer.item(item, f"item {index}")
        if progress is not None and not progress(len(items)):
            raise ImportStopped
        if importer.errors:
            # Raised inside the atomic block: it rolls back every item written so far.
            raise ImportRejected(
                importer.errors.lines,
                more=importer.errors.more,
                warnings=importer.warnings.lines,
                more_warnings=importer.warnings.more,
            )
    importer.result.warnings = importer.warnings.lines
    importer.result.more_warnings = importer.warnings.more
    return importer.result


def _duplicate_items(items: list[Any]) -> dict[int, list[str]]:
    """Items whose id or number an earlier item has: two rows of one file cannot both win.

    Only top-level items: the same agent, webhook or connection under several
    numbers is how upstream shares them, and stays allowed.
    """
    first: dict[tuple[str, str], int] = {}
    found: dict[int, list[str]] = {}
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        for key in ("id", "number"):
            value = item.get(key)
            if not isinstance(value, str):
                continue
            if key == "id":
                try:
                    value = str(uuid.UUID(value))
                except ValueError:
                    continue  # reported as "not a UUID" when the item is imported
            earlier = first.setdefault((key, value), index)
            if earlier != index:
                found.setdefault(index, []).append(
                    f"item {earlier} and item {index} have the same {key} {value}; "
                    "a file may hold each number once."
                )
    return found


def _shape_problems(item: Any, path: str) -> list[str]:
    """What no field could hold anywhere in an item: too deep a nesting, an infinite
    number, a ``__sealed__`` key.

    Checked first and without recursion: the model's own checks (and ``==``
    between two trees) recurse, and a few thousand levels would end them in a
    RecursionError. ``1e400`` parses as infinity even though NaN/Infinity are refused.
    A file carries masked values, never sealed ones: a ``__sealed__`` object is
    hand-written or copied from another row (another tenant's ciphertext), even
    when it decrypts.
    """
    bound = limit("json_depth") + ITEM_STRUCTURE_DEPTH
    problems: list[str] = []
    stack: list[tuple[Any, str, int]] = [(item, path, 0)]
    while stack and len(problems) < 20:
        node, where, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth >= bound and node:
                return [
                    f"{where}: nested deeper than the limit (a field may be nested "
                    f"{limit('json_depth')} levels deep)."
                ]
            if isinstance(node, dict) and SEALED_KEY in node:
                problems.append(
                    f"{where}: {SEALED_KEY} is reserved for values sealed by Switchboard; "
                    "a file carries a secret as its value or its masked form."
                )
                continue
            children = node.items() if isinstance(node, dict) else enumerate(node)
            for key, child in children:
                child_path = f"{where}[{key}]" if isinstance(node, list) else f"{where}.{key}"
                stack.append((child, child_path, depth + 1))
        elif isinstance(node, float) and not math.isfinite(node):
            problems.append(f"{where}: a number too large to store (not a finite number).")
    return problems


_MISSING = object()


def _comparable(value: Any) -> Any:
    """A value as compared for "did it change" (``vault.fields.plaintext``).

    A value that cannot be opened (a hand-forged envelope, a key no longer
    configured) compares as stored; validation reports it.
    """
    try:
        return plaintext(value)
    except Exception:  # any failure to open means "compare as stored"
        return ("unreadable", value)


def _present(value: Any) -> bool:
    """Upstream sends an empty object for an absent link."""
    return value is not None and value != {}


def row_name(obj: models.Model) -> str:
    """How a line names a stored row: a number by its number, anything else by its id."""
    key = obj.number if isinstance(obj, PhoneNumber) else obj.pk
    return f"{type(obj).__name__} {key}"


def _field_line(path: str, name: str, message: str) -> str:
    """One validation message under its path; limit messages already start with the field."""
    if name == NON_FIELD_ERRORS:
        return f"{path}: {message}"
    if message.startswith(name) and message[len(name) : len(name) + 1] in (":", ".", "["):
        return f"{path}.{message}"
    return f"{path}.{name}: {message}"


def _attname(model: type[models.Model], name: str) -> str | None:
    try:
        return model._meta.get_field(name).attname
    except FieldDoesNotExist:  # NON_FIELD_ERRORS, or a name a clean() made up
        return None


def _detail(name: str, message: str) -> str:
    message = message.rstrip(".")
    return message.removeprefix(f"{name}: ")


class _Invalid(Exception):
    """One object cannot be imported; ``lines`` say why (item and field path each)."""

    def __init__(self, *lines: str) -> None:
        super().__init__(*lines)
        self.lines = list(lines)


class _ItemFailed(Exception):
    """Raised inside an item's savepoint to roll it back after collecting its errors."""


class _Importer:
    """One import's state: its counts, its error and warning lines, and its caches."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        self.result = ImportResult()
        self.errors = _Lines(limit("import_errors"))
        self.warnings = _Lines(limit("import_errors"))
        self.users: dict[uuid.UUID, User] = {}
        self.seen: dict[tuple[type[models.Model], uuid.UUID], tuple[Any, models.Model]] = {}
        # The current item's errors, and what it added to the caches (undone if it
        # fails: its savepoint's rows are gone, so later items must not reuse them).
        self.problems: list[str] = []
        self.journal: list[tuple[dict[Any, Any], Any, Any]] = []

    def item(self, data: Any, path: str) -> None:
        """Import one item in its own savepoint; record its errors, or none."""
        self.problems = _shape_problems(data, path)
        self.journal = []
        if not self.problems:
            try:
                with transaction.atomic():
                    self.phone_number(data, path)
                    if self.problems:
                        raise _ItemFailed
            except _ItemFailed:
                pass
            except _Invalid as exc:
                self.problems.extend(exc.lines)
            except Exception as exc:  # one line, never a traceback or the value
                self.problems.append(f"{path}: could not be imported ({type(exc).__name__}).")
            if self.problems:
                for cache, key, previous in reversed(self.journal):
                    if previous is _MISSING:
                        cache.pop(key, None)
                    else:
                        cache[key] = previous
        for line in self.problems:
            self.errors.add(line)

    def _remember(self, cache: dict[Any, Any], key: Any, value: Any) -> None:
        self.journal.append((cache, key, cache.get(key, _MISSING)))
        cache[key] = value

    def _attempt(self, build: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Build a nested object; on failure note why and go on with the rest (None)."""
        try:
            return build(*args, **kwargs)
        except _Invalid as exc:
            self.problems.extend(exc.lines)
            return None

    # -- helpers --------------------------------------------------------------

    def _object(self, data: Any, path: str) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise _Invalid(f"{path}: must be an object, not {type(data).__name__}.")
        return data

    def _uuid(self, data: dict[str, Any], key: str, path: str, problems: list[str]) -> Any:
        """The UUID under ``key``, or None with the reason added to ``problems``."""
        if key not in data or data[key] is None:
            problems.append(f"{path}.{key}: required field is missing.")
            return None
        try:
            return uuid.UUID(str(data[key]))
        except ValueError:
            problems.append(f"{path}.{key}: {data[key]!r} is not a UUID.")
            return None

    def _user(self, user_id: uuid.UUID) -> User:
        user = self.users.get(user_id)
        if user is None:
            user = User.objects.filter(pk=user_id).first()
            if user is None:
                user = User(id=user_id, email=User.placeholder_email(user_id))
                user.set_unusable_password()
                user = user_save(user=user, actor=self.actor)  # audited, like every account
                self.result.created["user"] += 1
            self._remember(self.users, user_id, user)
        return user

    def _owner_problem(self, owner_id: Any, linked: models.Model | None, path: str) -> bool:
        """Note a cross-tenant link; True when there is one."""
        if linked is None or owner_id is None or linked.user_id == owner_id:
            return False
        self.problems.append(
            f"{path}.user_id: belongs to user {linked.user_id}, not to the owner "
            f"{owner_id} of the object that links to it (cross-tenant link)."
        )
        return True

    def _owner_id(self, data: dict[str, Any]) -> uuid.UUID | None:
        """The owner for link checks; a bad or missing one is reported by the upsert."""
        return self._uuid(data, "user_id", "", [])

    def _state(self, obj: models.Model) -> dict[str, Any]:
        return {f.attname: _comparable(getattr(obj, f.attname)) for f in obj._meta.concrete_fields}

    def _validate(self, obj: models.Model, path: str) -> dict[str, list[ValidationError]]:
        """The object's validation errors by field name (empty when valid)."""
        try:
            obj.full_clean(validate_constraints=False)
        except ValidationError as exc:
            if not hasattr(exc, "error_dict"):
                return {NON_FIELD_ERRORS: exc.error_list}
            return {
                name: [e for error in errors for e in error.error_list]
                for name, errors in exc.error_dict.items()
            }
        except Exception as exc:  # one line naming the object, not the value
            raise _Invalid(f"{path}: could not be imported ({type(exc).__name__}).") from None
        return {}

    def _left_as_stored(self, obj: models.Model, path: str, name: str, details: list[str]) -> None:
        detail = "; ".join(_detail(name, d) for d in details)
        self.warnings.add(
            f"{path} ({row_name(obj)}): {name} is over a limit; unchanged, left as stored "
            f"({detail})."
        )

    def _upsert(
        self,
        model: type[models.Model],
        data: Any,
        path: str,
        links: dict[str, Any] | None = None,
        extra: Any = None,
        actions: list[Any] | None = None,
    ) -> Any:
        """Create or update one object from its data; save only if it changed."""
        data = self._object(data, path)
        problems: list[str] = []
        pk = self._uuid(data, "id", path, problems)
        user_id = self._uuid(data, "user_id", path, problems)
        missing = [key for key in REQUIRED[model] if data.get(key) in (None, "")]
        problems += [f"{path}.{key}: required field is missing." for key in missing]
        if pk is None or user_id is None:
            raise _Invalid(*problems)
        signature = (data, links, extra)
        cached = self.seen.get((model, pk))
        if cached is not None and cached[0] == signature and not problems:
            return cached[1]

        # Locked until the import commits: an edit made elsewhere between this read
        # and the save below would otherwise be overwritten with what was read here.
        # The writer waits for the import instead (a no-op on SQLite, which
        # serialises writers anyway).
        obj = model.objects.select_for_update().filter(pk=pk).first()
        created = obj is None
        loaded_version = None if created else getattr(obj, "version", None)
        if not created and obj.user_id != user_id:
            raise _Invalid(
                *problems,
                f"{path}.user_id: {model._meta.verbose_name} {pk} belongs to user "
                f"{obj.user_id}; an import cannot move it to user {user_id}.",
            )
        if created:
            obj = model(pk=pk)
        before = self._state(obj)
        obj.user = self._user(user_id)
        for name in SCALAR_FIELDS[model]:
            if name in data:
                value = data[name]
                model_field = model._meta.get_field(name)
                if value is None and not model_field.null:
                    value = model_field.get_default()
                # Secret fields merge here: a masked value keeps the stored secret.
                setattr(obj, name, value)
        for name, linked in (links or {}).items():
            setattr(obj, name, linked)
        credentials_changed = False
        if model is AccountConnection:
            try:
                credentials_changed = self._credentials(obj, data.get("credentials"), path)
            except _Invalid as exc:
                problems += exc.lines
        field_errors = self._validate(obj, path)
        # Compared after validation, which normalises ("10" -> 10), so a file
        # imported twice is unchanged the second time.
        after = self._state(obj)
        same = {name for name, value in after.items() if not created and before[name] == value}
        old_actions = [] if created or actions is None else list(obj.actions.all())
        actions_changed = actions is not None and (
            {a.pk for a in old_actions} != {a.pk for a in actions}
        )
        changed = created or len(same) != len(after) or credentials_changed or actions_changed
        label = model._meta.model_name

        if not changed and not problems:
            # An unchanged re-import is not saved, so its validation errors do not
            # count: the limits it breaks came after it was stored. Say so, and go on.
            for name, details in model_problems(obj).items():
                self._left_as_stored(obj, path, name, details)
            self.result.unchanged[label] += 1
            self._remember(self.seen, (model, pk), (signature, obj))
            return obj

        for name, errors in field_errors.items():
            if name in missing:
                continue  # "required field is missing" says it already
            if _attname(model, name) in same and all(e.code in LIMIT_CODES for e in errors):
                self._left_as_stored(obj, path, name, [m for e in errors for m in e.messages])
                continue
            problems += [_field_line(path, name, m) for e in errors for m in e.messages]
        if problems:
            raise _Invalid(*problems)

        # One write path per model, each with compare-and-set against the version
        # read above and the audit entry: phone_numbers.services for numbers,
        # agents.services for the agent graph (validated just above: clean=False).
        try:
            if isinstance(obj, PhoneNumber):
                phone_number_save(number=obj, actor=self.actor, expected_version=loaded_version)
            else:
                graph_object_save(
                    obj=obj,
                    actor=self.actor,
                    expected_version=loaded_version,
                    actions=actions,
                    clean=False,
                )
        except VersionConflict as conflict:
            raise _Invalid(
                f"{path}: {row_name(obj)} was changed by someone else while the import "
                f"ran (now version {conflict.current.version}); import the file again."
            ) from None
        (self.result.created if created else self.result.updated)[label] += 1
        self._remember(self.seen, (model, pk), (signature, obj))
        return obj

    @sensitive_variables("incoming", "current", "merged")
    def _credentials(self, conn: AccountConnection, incoming: Any, path: str) -> bool:
        """Set credentials; masked values keep the stored secret, at any depth. True if changed."""
        if incoming is None:
            return False
        if not isinstance(incoming, dict):
            raise _Invalid(f"{path}.credentials: must be an object.")
        problems = json_problems(incoming, f"{path}.credentials")
        if problems:
            raise _Invalid(*problems)
        try:
            current, why = reveal(conn.credentials) or {}, "no secret is stored for it"
        except Exception:  # a key no longer configured: nothing can be kept
            current, why = {}, "the stored secret cannot be opened with the configured keys"
        merged, problems = keep_stored_credentials(incoming, current, f"{path}.credentials", why)
        if problems:
            raise _Invalid(*problems)
        # Stored NULL is shown as {} (the API, an export): {} back keeps the NULL.
        if merged == current and (conn.credentials is not None or not merged):
            return False
        try:
            conn.set_credentials(merged)
        except ValidationError as exc:
            raise _Invalid(*(f"{path}.{m}" for m in exc.messages)) from None
        return True

    # -- the object graph -----------------------------------------------------

    def connection(self, data: Any, path: str) -> AccountConnection | None:
        if not _present(data):
            return None
        return self._attempt(self._upsert, AccountConnection, data, path)

    def prompt(self, data: Any, path: str) -> Prompt | None:
        if not _present(data):
            return None
        data = self._object(data, path)
        template = None
        if _present(data.get("prompt_template")):
            template = self._attempt(
                self._upsert, PromptTemplate, data["prompt_template"], f"{path}.prompt_template"
            )
        if self._owner_problem(self._owner_id(data), template, f"{path}.prompt_template"):
            template = None
        return self._attempt(self._upsert, Prompt, data, path, links={"prompt_template": template})

    def agent(self, data: Any, path: str) -> Agent | None:
        if not _present(data):
            return None
        data = self._object(data, path)
        owner_id = self._owner_id(data)
        prompt = self._attempt(self.prompt, data.get("prompt"), f"{path}.prompt")
        webhook = None
        if _present(data.get("webhook")):
            webhook = self._attempt(self._upsert, Webhook, data["webhook"], f"{path}.webhook")
        llm = self.connection(
            data.get("openai_account_connection"), f"{path}.openai_account_connection"
        )
        links = {"prompt": prompt, "webhook": webhook, "openai_account_connection": llm}
        for name, linked in links.items():
            if self._owner_problem(owner_id, linked, f"{path}.{name}"):
                links[name] = None
        raw_actions = data.get("actions") or []
        actions: list[Action] = []
        if not isinstance(raw_actions, list):
            self.problems.append(f"{path}.actions: must be a list.")
        else:
            for i, raw in enumerate(raw_actions):
                action = self._attempt(self._upsert, Action, raw, f"{path}.actions[{i}]")
                if action is not None and not self._owner_problem(
                    owner_id, action, f"{path}.actions[{i}]"
                ):
                    actions.append(action)
        return self._attempt(
            self._upsert,
            Agent,
            data,
            path,
            links=links,
            extra=sorted(str(a.pk) for a in actions),
            actions=actions,
        )

    def phone_number(self, data: Any, path: str) -> PhoneNumber | None:
        data = self._object(data, path)
        owner_id = self._owner_id(data)
        agent = self._attempt(self.agent, data.get("inbound_agent"), f"{path}.inbound_agent")
        telephony = self.connection(
            data.get("telephony_account_connection"), f"{path}.telephony_account_connection"
        )
        if self._owner_problem(owner_id, agent, f"{path}.inbound_agent"):
            agent = None
        if self._owner_problem(owner_id, telephony, f"{path}.telephony_account_connection"):
            telephony = None
        return self._attempt(
            self._upsert,
            PhoneNumber,
            data,
            path,
            links={"inbound_agent": agent, "telephony_account_connection": telephony},
        )
