"""The inventory's table rows: prepared in Python, rendered with Jinja2."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from django.template import engines
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from markupsafe import Markup, escape

from console.links import pk_urls
from console.number_cells import PageLinks, cell_renderers
from console.number_columns import DEFAULT_COLUMNS
from phone_numbers import phone
from phone_numbers.health import HealthFinding, findings_for
from phone_numbers.models import PhoneNumber, TelephonyProvider

# get_telephony_provider_display() flattens and hashes the choices on every call.
PROVIDER_LABELS = dict(TelephonyProvider.choices)


@dataclass(frozen=True)
class NumberRow:
    """What one inventory table row shows, prepared in Python.

    Per-row template work (URL tags, date filters, attribute lookups) was most of
    a page's rendering time: here each route is reversed once per process and
    each value is formatted once; ``console.number_cells`` renders the cells and
    ``render_rows`` puts them in their rows with Jinja2 (figures in
    docs/benchmarks.md). ``findings`` are the row's health badges
    (``phone_numbers.health``, the same definitions as the inventory's filter);
    ``checked``: the row is in the bulk selection a bulk step carries;
    ``owner_url``: the owner's account page (``console.customers``);
    ``number_attr``: the number, escaped once for the attributes that name it.
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
    checked: bool = False
    owner_url: str = ""
    number_attr: str = ""


def number_rows(
    numbers: Iterable[PhoneNumber], *, selected: Collection[str] = ()
) -> list[NumberRow]:
    """Rows for numbers loaded by ``phone_numbers.queries.inventory`` (no further queries);
    the ids in ``selected`` come with their bulk checkbox ticked."""
    detail, label, agent_edit, agent, connection, owner = (
        pk_urls(name)
        for name in (
            "numbers:detail",
            "numbers:edit_label",
            "numbers:edit_agent",
            "agents:detail",
            "agents:connection",
            "customers:detail",
        )
    )
    rows = []
    for n in numbers:
        pk = str(n.pk)
        rows.append(
            NumberRow(
                n=n,
                display=phone.display(n.number),
                detail_url=detail(pk),
                edit_label_url=label(pk),
                edit_agent_url=agent_edit(pk),
                agent_url=agent(n.inbound_agent_id) if n.inbound_agent_id else "",
                connection_url=connection(n.telephony_account_connection_id)
                if n.telephony_account_connection_id
                else "",
                findings=findings_for(n),
                provider_label=str(PROVIDER_LABELS.get(n.telephony_provider, n.telephony_provider)),
                checked=pk in selected,
                owner_url=owner(n.user_id),
                number_attr=escape(n.number),
            )
        )
    return rows


TableRow = tuple[NumberRow, list[tuple[str, str, str]], Markup]


def table_rows(rows: list[NumberRow], columns: Sequence[str], links: PageLinks) -> list[TableRow]:
    """Each row with its cells, ``(key, td class, HTML)`` in order (an editor's
    checkbox, then the columns), and those cells joined: what the row shows when
    none of its fields is being edited, printed as one value.
    ``console.number_cells`` builds the renderers once for all the rows."""
    renderers = cell_renderers(columns, links)
    table = []
    for row in rows:
        cells = [(key, cls, render(row)) for key, cls, render in renderers]
        # The renderers escape every value they print (console.number_cells).
        table.append((row, cells, Markup("".join(cell for _, _, cell in cells))))  # noqa: S704
    return table


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
    same template with ``table_rows`` of its one row.
    """
    links = PageLinks(can_edit, reverse("numbers:list"), owner_query, health_query)
    template = engines["jinja2"].get_template("numbers/_rows.jinja")
    html = template.render({"rows": table_rows(rows, columns, links), "can_edit": can_edit})
    return mark_safe(html)  # noqa: S308 - autoescaped by the Jinja2 environment
