"""Background jobs in a real browser: an import read, applied and audited, and a
background export downloaded (issue 19's "Done when"; PostgreSQL pass only).

The import runs on a real ``manage.py db_worker`` subprocess on the live server's
database (tests/jobs/workers.py): the job page is followed by its own htmx polling
while another process does the work, as in production. The export runs on the tests'
immediate backend (inside the request that starts it) with the batch made small, so
that its 2,100 rows are written in five batches without seeding ten thousand.

Screenshots of the import's preview and of the applied job, at 1280x800, are left in
test-artifacts/ (gitignored) to look at.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

import jobs.output
from audit.models import AuditEntry
from jobs.models import Job, JobKind, JobState
from phone_numbers import upkeep
from phone_numbers.models import PhoneNumber
from tests.factories import make_agent, make_number, make_user
from tests.jobs.workers import Worker, run_worker, use_backend

# Like every browser test: CI=true turns a skip into a failure (tests/conftest.py).
pytestmark = pytest.mark.django_db(transaction=True)

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PASSWORD = "pw-staff-123456"  # the ``number_admin`` and ``support`` fixtures' (tests/conftest.py)
VIEWPORT = {"width": 1280, "height": 800}
# Time for a worker subprocess to start and take the job (a shared CI machine is slow).
WORKER_SECONDS = 60_000
REASON = "TICKET-4242 relabel the front desk lines"

# Changes the labels and inbound agents of two numbers, leaves one as it is, and
# names another customer's agent on line 4: refused, with its reason.
IMPORT_CSV = (
    "number,label,inbound_agent\n"
    "+14155550100,Reception (main),Sales\n"
    "+14155550101,Lobby after hours,Front Desk\n"
    "+14155550102,Warehouse,Globex Desk\n"
    "+14155550103,Spare,\n"
)


def sign_in(page: Page, email: str) -> None:
    page.goto("/login/?next=/numbers/")
    page.fill("#id_username", email)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/numbers/$"))


def shoot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=path, full_page=True)
    return path


@pytest.fixture
def desk(db):
    """Acme's inventory: four numbers, two agents; Globex has an agent of its own."""
    acme = make_user("ops@acme.example")
    front = make_agent(acme, name="Front Desk")
    make_agent(acme, name="Sales")
    make_agent(make_user("ops@globex.example"), name="Globex Desk")
    make_number(acme, "+14155550100", label="Reception", inbound_agent=front)
    make_number(acme, "+14155550101", label="Lobby")
    make_number(acme, "+14155550102", label="Warehouse", inbound_agent=front)
    make_number(acme, "+14155550103", label="Spare")
    return front


@pytest.fixture
def database_queue(settings, live_server) -> None:
    """Jobs enqueued on the database backend, where ``db_worker`` reads them: the
    live server is a thread of this process and reads the same settings."""
    use_backend(settings, "database")


def wait_until_finished(page: Page, worker: Worker | None = None) -> None:
    """Wait for the job page's own polling to show the job succeeded, its bar full."""
    state = page.locator("#job-state")
    try:
        expect(state).to_have_text("Succeeded", timeout=WORKER_SECONDS)
    except AssertionError:
        log = worker.log() if worker is not None else ""
        pytest.fail(f"the job page says {state.inner_text()!r}\n{log}", pytrace=False)
    bar = page.locator("#job-progress progress")
    maximum = bar.get_attribute("max")
    assert maximum is not None and int(maximum) > 0
    expect(bar).to_have_attribute("value", maximum)
    # Finished: the fragment stops polling itself.
    expect(page.locator("#job-progress")).not_to_have_attribute("hx-trigger", re.compile("."))


def test_an_import_is_previewed_applied_on_a_worker_and_found_in_the_trail(
    browser, live_server, number_admin, desk, database_queue
):
    context = browser.new_context(base_url=live_server.url, viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(10_000)
    sign_in(page, number_admin.email)

    # Upload: from the inventory's own link, a file that never touched the disk.
    page.get_by_role("link", name="Import…").click()
    page.wait_for_url(re.compile(r"/imports/new$"))
    page.set_input_files(
        "#id_file",
        files=[{"name": "front-desk.csv", "mimeType": "text/csv", "buffer": IMPORT_CSV.encode()}],
    )
    page.fill("#id_reason", REASON)
    page.get_by_role("button", name="Preview the import").click()
    page.wait_for_url(re.compile(r"/jobs/[0-9a-f-]+/$"))
    preview_url = page.url

    # No worker yet: the job waits, its bar indeterminate, its page polling.
    expect(page.locator("#job-state")).to_have_text("Queued")
    assert not page.locator("#job-progress progress").evaluate("bar => bar.hasAttribute('value')")
    expect(page.locator("#job-progress")).to_have_attribute("hx-trigger", "every 1s")
    with run_worker("database") as worker:
        # The worker takes it: the page's polling shows it finish, then its preview.
        wait_until_finished(page, worker)
        read_the_preview(page)
        # Apply, leaving the refused row out; the apply is a job of its own.
        page.get_by_label(re.compile(r"Leave out the 1 refused row\b")).check()
        page.get_by_role("button", name="Apply 2 changes").click()
        page.wait_for_url(lambda url: url != preview_url and "/jobs/" in url)
        expect(page.locator("h1")).to_have_text("Import")
        wait_until_finished(page, worker)
    expect(page.locator("[data-import-applied]")).to_contain_text(
        "Applied: 0 created, 2 changed, 1 unchanged, 1 refused row left out"
    )
    print(f"screenshot: {shoot(page, 'jobs-import-applied.png')}")
    apply_job = Job.objects.get(kind=JobKind.IMPORT_APPLY)
    assert (apply_job.state, apply_job.created_by) == (JobState.SUCCEEDED, number_admin)

    # The inventory shows the new labels and agents; the refused row is untouched.
    page.goto("/numbers/?q=415555")
    rows = page.locator("table[data-rows] tbody tr")
    expect(rows).to_have_count(4)
    expect(rows.filter(has_text="Reception (main)")).to_contain_text("Sales")
    expect(rows.filter(has_text="Lobby after hours")).to_contain_text("Front Desk")
    expect(rows.filter(has_text="Warehouse")).to_contain_text("Front Desk")

    # The audit trail, from the applied job's page: the two changes, with the reason.
    page.go_back()
    page.get_by_role("link", name="Every change in the audit trail").click()
    page.wait_for_url(re.compile(rf"/audit/\?q=job-{apply_job.pk.hex}$"))
    entries = page.locator("table.audit tbody tr")
    expect(entries).to_have_count(2)
    for entry in entries.all():
        expect(entry.locator("p.reason")).to_have_text(f"Reason: {REASON}")
    expect(entries.filter(has_text="Reception (main)")).to_contain_text("Sales")
    expect(entries.filter(has_text="Lobby after hours")).to_contain_text("Front Desk")
    written = AuditEntry.objects.filter(request_id=f"job-{apply_job.pk.hex}")
    assert set(written.values_list("reason", flat=True)) == {REASON}
    context.close()


def read_the_preview(page: Page) -> None:
    """The finished preview: its counts, each change old -> new, the refused row and
    why; and nothing written yet."""
    expect(page.locator("[data-import-preview]")).to_be_visible()
    counts = {
        name: page.locator(f"dd[data-count={name}]").inner_text()
        for name in ("rows", "created", "changed", "unchanged", "refused")
    }
    assert counts == {"rows": "4", "created": "0", "changed": "2", "unchanged": "1", "refused": "1"}
    changes = [
        [cell.strip() for cell in row]
        for row in page.locator("table[data-import-changes] tbody tr").evaluate_all(
            "rows => rows.map(r => Array.from(r.cells, c => c.innerText))"
        )
    ]
    assert changes == [
        ["+14155550100", "Label", "Reception", "Reception (main)"],
        ["Inbound agent", "Front Desk", "Sales"],
        ["+14155550101", "Label", "Lobby", "Lobby after hours"],
        ["Inbound agent", "—", "Front Desk"],
    ]
    refusals = page.locator("table[data-import-refusals] tbody tr")
    expect(refusals).to_have_count(1)
    expect(refusals.locator("td")).to_have_text(
        ["4", "+14155550102", "this customer has no agent named 'Globex Desk'."]
    )
    assert PhoneNumber.objects.get(number="+14155550100").label == "Reception"
    print(f"\nscreenshot: {shoot(page, 'jobs-import-preview.png')}")


EXPORT_NUMBERS = 2_100
EXPORT_BATCH = 500


def test_a_background_export_of_several_batches_downloads_the_whole_view(
    browser, live_server, support, monkeypatch
):
    owner = make_user("ops@acme.example")
    PhoneNumber.objects.bulk_create(
        PhoneNumber(
            user=owner, number=f"+1303555{i:04d}", label=f"Line {i}", telephony_provider="twilio"
        )
        for i in range(EXPORT_NUMBERS)
    )
    upkeep.rebuild()  # what bulk_create skips: the inventory's counts and search
    # Small batches, and every progress write they make: the bar's steps.
    monkeypatch.setattr(jobs.output, "BATCH_ROWS", EXPORT_BATCH)
    steps: list[int] = []
    report = jobs.output.job_progress

    def progress(*, job_id, done, **kwargs):
        steps.append(done)
        return report(job_id=job_id, done=done, **kwargs)

    monkeypatch.setattr(jobs.output, "job_progress", progress)

    context = browser.new_context(
        base_url=live_server.url, viewport=VIEWPORT, accept_downloads=True
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    sign_in(page, support.email)  # support staff may export
    streamed_href = page.locator("a.export").get_attribute("href")
    page.get_by_role("button", name="Export in background").click()
    page.wait_for_url(re.compile(r"/jobs/[0-9a-f-]+/$"))
    expect(page.locator("h1")).to_have_text("CSV export")
    wait_until_finished(page)
    expect(page.locator("#job-progress dl")).to_contain_text(
        f"{EXPORT_NUMBERS:,} of {EXPORT_NUMBERS:,}"
    )
    assert steps == [500, 1_000, 1_500, 2_000, 2_100]

    with page.expect_download() as info:
        page.get_by_role("link", name="Download CSV").click()
    download = info.value
    assert download.suggested_filename.startswith("numbers-")
    assert download.suggested_filename.endswith(".csv")
    rows = list(csv.reader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    assert len(rows) == EXPORT_NUMBERS + 1
    assert rows[0][:2] == ["number", "label"]
    # A leading "+" is escaped for spreadsheets (console.csvexport), as in the streamed file.
    numbers = {row[0].removeprefix("'") for row in rows[1:]}
    assert numbers == {f"+1303555{i:04d}" for i in range(EXPORT_NUMBERS)}
    # The same file as the streamed export of the same view.
    streamed = page.request.get(streamed_href)
    assert streamed.ok
    assert list(csv.reader(io.StringIO(streamed.text()))) == rows
    context.close()
