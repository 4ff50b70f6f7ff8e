"""Import of upstream ``GET /v1/numbers/list`` responses.

Every nested object is upserted by its id, inside one transaction: a bad
item (invalid value, missing field, cross-tenant link) aborts the whole
import with the item index and the field path, and nothing is written.
Objects whose data did not change are not saved, so importing the same file
twice changes nothing (not even ``updated_at``).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.views.decorators.debug import sensitive_variables

from agents.fields import SecretSealingJSONField, reveal, reveal_secrets
from agents.masking import is_masked
from agents.models import AccountConnection, Action, Agent, Prompt, PromptTemplate, Webhook
from audit.models import Action as AuditAction
from audit.models import Source
from audit.services import Actor, diff, record, snapshot
from users.models import User

from .models import PhoneNumber


class ImportRejected(Exception):
    """The input is not importable; the message names the item and field."""


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


@dataclass
class ImportResult:
    created: Counter[str] = field(default_factory=Counter)
    updated: Counter[str] = field(default_factory=Counter)
    unchanged: Counter[str] = field(default_factory=Counter)

    def summary(self) -> str:
        names = sorted({*self.created, *self.updated, *self.unchanged})
        return "; ".join(
            f"{name}: {self.created[name]} created, {self.updated[name]} updated, "
            f"{self.unchanged[name]} unchanged"
            for name in names
        )


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


def import_items(items: Iterable[Any], *, actor: Actor | None = None) -> ImportResult:
    """Upsert every item and its nested objects in one transaction, audited."""
    importer = _Importer(actor or Actor.for_command("import_numbers", Source.IMPORT))
    with transaction.atomic():
        for index, item in enumerate(items):
            importer.phone_number(item, f"item {index}")
    return importer.result


def _comparable(field: models.Field, value: Any) -> Any:
    """Sealed JSON compares by its plaintext: re-sealing gives new ciphertext each time."""
    return reveal_secrets(value) if isinstance(field, SecretSealingJSONField) else value


def _present(value: Any) -> bool:
    """Upstream sends an empty object for an absent link."""
    return value is not None and value != {}


class _Importer:
    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        self.result = ImportResult()
        self.users: dict[uuid.UUID, User] = {}
        self.seen: dict[tuple[type[models.Model], uuid.UUID], tuple[Any, models.Model]] = {}

    # -- helpers --------------------------------------------------------------

    def _object(self, data: Any, path: str) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise ImportRejected(f"{path}: must be an object, not {type(data).__name__}.")
        return data

    def _uuid(self, data: dict[str, Any], key: str, path: str) -> uuid.UUID:
        if key not in data or data[key] is None:
            raise ImportRejected(f"{path}.{key}: required field is missing.")
        try:
            return uuid.UUID(str(data[key]))
        except ValueError:
            raise ImportRejected(f"{path}.{key}: {data[key]!r} is not a UUID.") from None

    def _user(self, user_id: uuid.UUID) -> User:
        user = self.users.get(user_id)
        if user is None:
            user = User.objects.filter(pk=user_id).first()
            if user is None:
                user = User(id=user_id, email=User.placeholder_email(user_id))
                user.set_unusable_password()
                user.save()
                self.result.created["user"] += 1
            self.users[user_id] = user
        return user

    def _same_owner(self, owner: models.Model, linked: models.Model, path: str) -> None:
        if linked.user_id != owner.user_id:
            raise ImportRejected(
                f"{path}.user_id: belongs to user {linked.user_id}, not to the owner "
                f"{owner.user_id} of the object that links to it (cross-tenant link)."
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
        pk = self._uuid(data, "id", path)
        user_id = self._uuid(data, "user_id", path)
        for key in REQUIRED[model]:
            if data.get(key) in (None, ""):
                raise ImportRejected(f"{path}.{key}: required field is missing.")
        signature = (data, links, extra)
        cached = self.seen.get((model, pk))
        if cached is not None and cached[0] == signature:
            return cached[1]

        obj = model.objects.filter(pk=pk).first()
        created = obj is None
        audited_before = None if created else snapshot(obj)
        if not created and obj.user_id != user_id:
            raise ImportRejected(
                f"{path}.user_id: {model._meta.verbose_name} {pk} belongs to user "
                f"{obj.user_id}; an import cannot move it to user {user_id}."
            )
        if created:
            obj = model(pk=pk)
        before = {
            f.attname: _comparable(f, getattr(obj, f.attname)) for f in model._meta.concrete_fields
        }
        obj.user = self._user(user_id)
        for name in SCALAR_FIELDS[model]:
            if name in data:
                value = data[name]
                model_field = model._meta.get_field(name)
                if value is None and not model_field.null:
                    value = model_field.get_default()
                setattr(obj, name, value)
        for name, linked in (links or {}).items():
            setattr(obj, name, linked)
        credentials_changed = False
        if model is AccountConnection:
            credentials_changed = self._credentials(obj, data.get("credentials"), path)
        try:
            obj.full_clean(validate_constraints=False)
        except ValidationError as exc:
            name, messages = next(iter(exc.message_dict.items()))
            where = f"{path}.{name}" if name != "__all__" else path
            raise ImportRejected(f"{where}: {' '.join(messages)}") from None
        after = {
            f.attname: _comparable(f, getattr(obj, f.attname)) for f in model._meta.concrete_fields
        }
        label = model._meta.model_name
        old_actions = [] if created or actions is None else list(obj.actions.all())
        actions_changed = actions is not None and (
            {a.pk for a in old_actions} != {a.pk for a in actions}
        )
        if created or before != after or credentials_changed or actions_changed:
            if isinstance(obj, PhoneNumber) and not created:
                obj.version += 1
            obj.save()
            changes = diff(audited_before or {}, snapshot(obj))
            if actions_changed:
                obj.actions.set(actions)
                changes["actions"] = [sorted(map(str, old_actions)), sorted(map(str, actions))]
            record(
                actor=self.actor,
                obj=obj,
                changes=changes,
                action=AuditAction.CREATE if created else AuditAction.UPDATE,
            )
            (self.result.created if created else self.result.updated)[label] += 1
        else:
            self.result.unchanged[label] += 1
        self.seen[(model, pk)] = (signature, obj)
        return obj

    @sensitive_variables("incoming", "current", "merged")
    def _credentials(self, conn: AccountConnection, incoming: Any, path: str) -> bool:
        """Set credentials; masked values keep the stored secret. True if changed."""
        if incoming is None:
            return False
        if not isinstance(incoming, dict):
            raise ImportRejected(f"{path}.credentials: must be an object.")
        current = reveal(conn.credentials) or {}
        merged = {}
        for key, value in incoming.items():
            if is_masked(value):
                if key not in current:
                    raise ImportRejected(
                        f"{path}.credentials.{key}: is a masked value and no secret is stored "
                        "for it; the real value is needed."
                    )
                merged[key] = current[key]
            else:
                merged[key] = value
        if merged == current and conn.credentials is not None:
            return False
        conn.set_credentials(merged)
        return True

    # -- the object graph -----------------------------------------------------

    def connection(self, data: Any, path: str) -> AccountConnection | None:
        if not _present(data):
            return None
        return self._upsert(AccountConnection, data, path)

    def prompt(self, data: Any, path: str) -> Prompt | None:
        if not _present(data):
            return None
        data = self._object(data, path)
        template = None
        if _present(data.get("prompt_template")):
            template = self._upsert(
                PromptTemplate, data["prompt_template"], f"{path}.prompt_template"
            )
        prompt = self._upsert(Prompt, data, path, links={"prompt_template": template})
        if template is not None:
            self._same_owner(prompt, template, f"{path}.prompt_template")
        return prompt

    def agent(self, data: Any, path: str) -> Agent | None:
        if not _present(data):
            return None
        data = self._object(data, path)
        prompt = self.prompt(data.get("prompt"), f"{path}.prompt")
        webhook = None
        if _present(data.get("webhook")):
            webhook = self._upsert(Webhook, data["webhook"], f"{path}.webhook")
        llm = self.connection(
            data.get("openai_account_connection"), f"{path}.openai_account_connection"
        )
        raw_actions = data.get("actions") or []
        if not isinstance(raw_actions, list):
            raise ImportRejected(f"{path}.actions: must be a list.")
        actions = [
            self._upsert(Action, a, f"{path}.actions[{i}]") for i, a in enumerate(raw_actions)
        ]
        owner_id = self._uuid(data, "user_id", path)
        for name, linked in (
            ("prompt", prompt),
            ("webhook", webhook),
            ("openai_account_connection", llm),
        ):
            if linked is not None and linked.user_id != owner_id:
                self._same_owner(Agent(user_id=owner_id), linked, f"{path}.{name}")
        for i, action in enumerate(actions):
            if action.user_id != owner_id:
                self._same_owner(Agent(user_id=owner_id), action, f"{path}.actions[{i}]")
        return self._upsert(
            Agent,
            data,
            path,
            links={"prompt": prompt, "webhook": webhook, "openai_account_connection": llm},
            extra=sorted(str(a.pk) for a in actions),
            actions=actions,
        )

    def phone_number(self, data: Any, path: str) -> PhoneNumber:
        data = self._object(data, path)
        owner_id = self._uuid(data, "user_id", path)
        agent = self.agent(data.get("inbound_agent"), f"{path}.inbound_agent")
        telephony = self.connection(
            data.get("telephony_account_connection"), f"{path}.telephony_account_connection"
        )
        owner = PhoneNumber(user_id=owner_id)
        if agent is not None:
            self._same_owner(owner, agent, f"{path}.inbound_agent")
        if telephony is not None:
            self._same_owner(owner, telephony, f"{path}.telephony_account_connection")
        return self._upsert(
            PhoneNumber,
            data,
            path,
            links={"inbound_agent": agent, "telephony_account_connection": telephony},
        )
