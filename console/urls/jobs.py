"""/jobs/: background jobs, their progress pages, cancel, retry and download (console.jobs)."""

from __future__ import annotations

from django.urls import path

from console import jobs

app_name = "jobs"

urlpatterns = [
    path("", jobs.job_list, name="list"),
    path("<uuid:pk>/", jobs.job_detail, name="detail"),
    path("<uuid:pk>/cancel", jobs.job_cancel_view, name="cancel"),
    path("<uuid:pk>/retry", jobs.job_retry_view, name="retry"),
    path("<uuid:pk>/download", jobs.job_download, name="download"),
]
