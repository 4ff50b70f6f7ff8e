"""A job: long work (an export) run by a task worker, watched by the person who started it.

The task framework's own result row says whether a task ran; a ``Job`` says what a
person asked for and how far it got, in words a page can show. Progress is written
with ``UPDATE`` statements of their own (``jobs.services``), never inside the work's
transaction, so the page sees it move.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class JobKind(models.TextChoices):
    EXPORT_CSV = "export_csv", "CSV export"
    EXPORT_JSON = "export_json", "JSON export"
    IMPORT_PREVIEW = "import_preview", "Import preview"
    IMPORT_APPLY = "import_apply", "Import"
    BULK_EDIT = "bulk_edit", "Bulk edit"


class JobState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


# States a job leaves no more: the page stops polling, Cancel disappears.
FINISHED_STATES = frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED})


class Job(models.Model):
    """One piece of background work and its progress (``done`` of ``total`` rows)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=32, choices=JobKind.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="jobs"
    )
    params = models.JSONField(default=dict, blank=True)
    reason = models.CharField(max_length=500, blank=True, default="")
    state = models.CharField(max_length=16, choices=JobState.choices, default=JobState.QUEUED)
    done = models.PositiveBigIntegerField(default=0)
    total = models.PositiveBigIntegerField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    result = models.JSONField(default=dict, blank=True)
    # A name in default storage (exports/<id>.csv). Private: MEDIA_URL serves
    # nothing; the file leaves only through the owner's download view.
    output = models.FileField(upload_to="exports/", max_length=255, blank=True, default="")
    # When the output may no longer be downloaded (checked at download; the
    # purge_exports command deletes the files of expired jobs).
    expires_at = models.DateTimeField(null=True, blank=True)
    # The job this one runs again (Retry of a failed or stalled job).
    retry_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="retries"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["created_by", "-created_at"], name="job_owner_recent"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(state__in=JobState.values), name="job_state_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=JobKind.values), name="job_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.id}"

    @property
    def is_finished(self) -> bool:
        return self.state in FINISHED_STATES
