"""``manage.py purge_exports [--dry-run]``: delete the files of expired export jobs,
and the work files of finished imports and bulk changes (``job_work_files_purge``).

A job's file may be downloaded until its ``expires_at`` (``JOBS_EXPORT_TTL_HOURS``
after it finished); the download refuses it after that, and this command, run from
cron, frees the storage (``jobs.services.job_outputs_purge``). Running it twice does
nothing the second time; a file already gone is counted, not an error. It exits
with 1 when a file could not be deleted, so cron mails someone.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from jobs.services import job_outputs_purge, job_work_files_purge


class Command(BaseCommand):
    help = "Delete the stored files of export jobs past their expiry and clear their link."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Say what would be deleted; delete nothing.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        dry_run = options["dry_run"]
        report = job_outputs_purge(dry_run=dry_run)
        verb = "Would delete" if dry_run else "Deleted"
        self.stdout.write(
            f"{verb} {report.deleted} expired export file(s), {report.bytes:,} bytes; "
            f"{report.already_gone} already gone."
        )
        work = job_work_files_purge(dry_run=dry_run)
        self.stdout.write(
            f"{verb} {work.deleted} work file(s) of finished imports and bulk changes, "
            f"{work.bytes:,} bytes."
        )
        failed = report.failed + work.failed
        for name, error in failed:
            self.stderr.write(f"Could not delete {name}: {error}")
        if failed:
            raise CommandError(f"{len(failed)} file(s) could not be deleted.")
