"""Small factory functions for test data: explicit, one object each."""

from __future__ import annotations

import itertools
from typing import Any

from agents.models import (
    AccountConnection,
    Action,
    ActionType,
    Agent,
    ConnectionType,
    Prompt,
    PromptTemplate,
    Webhook,
)
from jobs.models import Job, JobKind, JobState
from phone_numbers import upkeep
from phone_numbers.models import PhoneNumber
from users.models import User

_seq = itertools.count(1)


def make_user(email: str | None = None, **fields: Any) -> User:
    email = email or f"customer{next(_seq)}@example.com"
    password = fields.pop("password", None)
    return User.objects.create_user(email, password, **fields)


def make_connection(
    user: User,
    type: str = ConnectionType.TWILIO,
    credentials: dict[str, Any] | None = None,
    **fields: Any,
) -> AccountConnection:
    conn = AccountConnection(
        user=user, type=type, label=fields.pop("label", f"conn {next(_seq)}"), **fields
    )
    conn.set_credentials(
        credentials
        if credentials is not None
        else {"twilio_account_sid": "AC" + "1" * 32, "twilio_auth_token": "f" * 32}
    )
    conn.full_clean()
    conn.save()
    return conn


def make_template(user: User, **fields: Any) -> PromptTemplate:
    return PromptTemplate.objects.create(user=user, label=fields.pop("label", "Template"), **fields)


def make_prompt(user: User, **fields: Any) -> Prompt:
    return Prompt.objects.create(user=user, label=fields.pop("label", "Prompt"), **fields)


def make_webhook(user: User, **fields: Any) -> Webhook:
    fields.setdefault("url", "https://hooks.example.com/voice")
    fields.setdefault("subscriptions", ["event_message"])
    return Webhook.objects.create(user=user, label=fields.pop("label", "Hook"), **fields)


def make_action(user: User, **fields: Any) -> Action:
    fields.setdefault("type", ActionType.TRANSFER_CALL)
    return Action.objects.create(user=user, label=fields.pop("label", "Transfer"), **fields)


def make_agent(user: User, **fields: Any) -> Agent:
    fields.setdefault("name", f"Agent {next(_seq)}")
    return Agent.objects.create(user=user, **fields)


def make_number(user: User, number: str | None = None, **fields: Any) -> PhoneNumber:
    number = number or f"+1415555{next(_seq) % 10000:04d}"
    fields.setdefault("telephony_provider", "twilio")
    made = PhoneNumber.objects.create(user=user, number=number, **fields)
    # Created around the write paths: compute the kept health columns and counts
    # (phone_numbers.upkeep), so tests see what the services would have kept.
    upkeep.rebuild()
    made.refresh_from_db()
    return made


def make_job(user: User, **fields: Any) -> Job:
    """A queued CSV export of the whole inventory (nothing enqueued)."""
    fields.setdefault("kind", JobKind.EXPORT_CSV)
    fields.setdefault("params", {"query": "", "columns": []})
    return Job.objects.create(created_by=user, **fields)


def make_finished_export(user: User, content: bytes = b"number\r\n") -> Job:
    """A succeeded export with its file in default storage."""
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    job = make_job(user, state=JobState.SUCCEEDED, done=0, total=0)
    job.output = default_storage.save(f"exports/{job.pk}.csv", ContentFile(content))
    job.save(update_fields=["output"])
    return job


def make_task_result(job: Job) -> Any:
    """The database backend's row for a job's task, as ``enqueue`` writes it."""
    from django_tasks_db.models import DBTaskResult, get_date_max

    return DBTaskResult.objects.create(
        args_kwargs={"args": [], "kwargs": {"job_id": str(job.pk)}},
        task_path="console.export_tasks.export_numbers_csv",
        backend_name="default",
        run_after=get_date_max(),  # "as soon as possible", as the backend stores it
    )
