"""/: the overview support staff start from.

Findings across the inventory, by provider and for the customers with the
most of them, each count a link to the inventory filtered to exactly those
numbers; and the trail's last 30 days as a bar chart (``console.charts``) with
the latest changes and their reasons. Every count comes from the kept health
columns through one partial index (``phone_numbers.overview``) and the trail's
indexes (``audit.queries``): the page reads the same few thousand index
entries at 1,000 numbers or at 1,000,000 (figures: docs/benchmarks.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from audit import queries as audit_queries
from console.access import staff_view
from console.charts import BarChart, Point, bar_chart
from console.history import readable_entries
from console.links import pk_url
from phone_numbers import overview
from phone_numbers.health import HEALTH_FINDINGS, HealthFinding
from phone_numbers.models import TelephonyProvider

VIEW_NUMBERS = "numbers.view_phonenumber"
VIEW_AUDIT = "audit.view_auditentry"
# What the account page shows (console.customers): a link to it needs them all.
VIEW_CUSTOMERS = (
    "users.view_user",
    "users.view_apitoken",
    VIEW_NUMBERS,
    "agents.view_agent",
    "agents.view_webhook",
    "agents.view_accountconnection",
    VIEW_AUDIT,
)
CHART_DAYS = 30


def inventory_url(**filters: Any) -> str:
    """The inventory filtered by ``filters`` (``health``, ``provider``, ``owner``)."""
    return f"{reverse('numbers:list')}?{urlencode(filters)}"


@dataclass(frozen=True)
class Cell:
    """A count and the inventory that lists exactly those numbers ("" for no link)."""

    count: int
    url: str


@dataclass(frozen=True)
class CountsRow:
    """A table row: a name (and its page), then one cell per finding, then the flagged."""

    name: str
    url: str
    cells: list[Cell]
    flagged: int


def counts_row(name: str, url: str, counts: overview.FindingCounts, **filters: Any) -> CountsRow:
    cells = [
        Cell(
            counts.by_finding[key],
            inventory_url(**filters, health=key) if counts.by_finding[key] else "",
        )
        for key in HEALTH_FINDINGS
    ]
    return CountsRow(name, url, cells, counts.flagged)


def findings_with_links(
    counts: overview.FindingCounts, **filters: Any
) -> list[tuple[HealthFinding, Cell]]:
    """Each finding with its count and the filtered inventory's link."""
    return [
        (finding, Cell(counts.by_finding[key], inventory_url(**filters, health=key)))
        for key, finding in HEALTH_FINDINGS.items()
    ]


def changes_chart(days: list[audit_queries.DayCount]) -> BarChart:
    """The changes per day as bars, each linking to that day in the audit trail."""
    trail = reverse("audit:list")
    points = []
    for d in days:
        text = f"about {d.count:,}" if d.is_estimated else f"{d.count:,}"
        day = d.day.isoformat()
        points.append(
            Point(
                label=f"{d.day:%b} {d.day.day}",
                value=d.count,
                text=text,
                url=f"{trail}?{urlencode({'since': day, 'until': day})}",
            )
        )
    return bar_chart(points)


def chart_summary(chart: BarChart) -> str:
    """What the chart shows, in one sentence (its description for screen readers)."""
    if chart.peak is None:
        return "No changes were recorded on these days."
    about = "About " if any(b.text.startswith("about") for b in chart.bars) else ""
    return (
        f"{about}{chart.total:,} change{'s' if chart.total != 1 else ''} in all; the busiest "
        f"day was {chart.peak.label} with {chart.peak.text}."
    )


@require_GET
@staff_view(VIEW_NUMBERS)
def overview_page(request: HttpRequest) -> HttpResponse:
    by_provider, most = overview.inventory_findings()
    everything = overview.total(by_provider)
    can_see_customers = request.user.has_perms(VIEW_CUSTOMERS)
    customers = [
        counts_row(
            c.email or str(c.user_id),
            pk_url("customers:detail", c.user_id) if can_see_customers else "",
            c.counts,
            owner=c.user_id,
        )
        for c in most
    ]
    providers = [
        counts_row(TelephonyProvider(p).label, inventory_url(provider=p), counts, provider=p)
        for p, counts in by_provider.items()
    ]
    context: dict[str, Any] = {
        "findings": findings_with_links(everything),
        "flagged": everything.flagged,
        "finding_labels": list(HEALTH_FINDINGS.values()),
        "providers": providers,
        "customers": customers,
        "can_see_changes": request.user.has_perm(VIEW_AUDIT),
    }
    if context["can_see_changes"]:
        days = audit_queries.changes_per_day(days=CHART_DAYS, today=timezone.localdate())
        context["days"] = days
        chart = changes_chart(days)
        context["chart"] = chart
        context["chart_title"] = f"Changes per day, last {len(days)} days"
        context["chart_summary"] = chart_summary(chart)
        context["recent"] = readable_entries(audit_queries.recent_changes(), request.user)
    return render(request, "overview/overview.html", context)
