"""The inventory's table rows: prepared in Python, rendered with Jinja2."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from django.template import engines
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from console.links import pk_url
from console.number_columns import DEFAULT_COLUMNS
from phone_numbers import phone
from phone_numbers.health import HealthFinding, findings_for
from phone_numbers.models import PhoneNumber


@dataclass(frozen=True)
class NumberRow:
    """What one inventory table row shows, prepared in Python.

    Per-row template work (URL tags, date filters, attribute lookups) was most of
    a page's rendering time: here each route is reversed once per process and
    each value is formatted once, and ``render_rows`` renders them with Jinja2,
    which costs less per variable than the Django template language (figures in
    docs/benchmarks.md). ``findings`` are the row's health badges
    (``phone_numbers.health``, the same definitions as the inventory's filter);
    ``checked``: the row is in the bulk selection a bulk step carries;
    ``owner_url``: the owner's account page (``console.customers``).
    """

    n: PhoneNumber
    display: str
    detail_url: str
    edit_label_url: str
    edit_agent_url: str
    agent_url: str
    connection_url: str
    findings: tuple[HealthFinding, ...]
    provider_label: str
    updated_iso: str
    updated_text: str
    checked: bool = False
    owner_url: str = ""


def number_rows(
    numbers: Iterable[PhoneNumber], *, selected: Collection[str] = ()
) -> list[NumberRow]:
    """Rows for numbers loaded by ``phone_numbers.queries.inventory`` (no further queries);
    the ids in ``selected`` come with their bulk checkbox ticked."""
    rows = []
    for n in numbers:
        pk = str(n.pk)
        updated = timezone.localtime(n.updated_at)
        rows.append(
            NumberRow(
                n=n,
                display=phone.display(n.number),
                detail_url=pk_url("numbers:detail", pk),
                edit_label_url=pk_url("numbers:edit_label", pk),
                edit_agent_url=pk_url("numbers:edit_agent", pk),
                agent_url=pk_url("agents:detail", n.inbound_agent_id) if n.inbound_agent_id else "",
                connection_url=pk_url("agents:connection", n.telephony_account_connection_id)
                if n.telephony_account_connection_id
                else "",
                findings=findings_for(n),
                provider_label=n.get_telephony_provider_display(),
                updated_iso=updated.isoformat(),
                updated_text=updated.strftime("%Y-%m-%d %H:%M"),
                checked=pk in selected,
                owner_url=pk_url("customers:detail", n.user_id),
            )
        )
    return rows


def render_rows(
    rows: list[NumberRow],
    *,
    can_edit: bool,
    columns: Sequence[str] = DEFAULT_COLUMNS,
    owner_query: str = "?owner=",
    health_query: str = "?health=",
) -> SafeString:
    """The ``<tr>`` elements of ``rows`` (console/jinja2/numbers/_rows.jinja, autoescaped).

    ``columns``: the keys of the columns shown, in order (``console.number_columns``).
    ``owner_query`` is the list's query string ending in ``owner=`` (each row's owner
    link appends its id), ``health_query`` the same ending in ``health=`` (each
    finding's badge appends its key: the list narrowed to that finding). An edited
    row is rendered by ``console.number_edits``, whose Jinja2 response includes the
    same template.
    """
    template = engines["jinja2"].get_template("numbers/_rows.jinja")
    html = template.render(
        {
            "rows": rows,
            "columns": columns,
            "can_edit": can_edit,
            "list_url": reverse("numbers:list"),
            "owner_query": owner_query,
            "health_query": health_query,
        }
    )
    return mark_safe(html)  # noqa: S308 - autoescaped by the Jinja2 environment
