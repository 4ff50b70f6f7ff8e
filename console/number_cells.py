"""The inventory's table cells: one renderer per column, built once per page.

A page of 50 rows and 9 columns printed ~1,750 values through Jinja2, each escaped
one call at a time, and chose each cell's markup through an if/elif chain: most of
the page's rendering time. Here ``cell_renderers`` builds, once per page, one
function per column shown, in order; each returns its ``<td>`` for a row as one
string, escaping only the row's own text (number, label, email, names). What is the
same for many rows of a page (a finding's badge, an owner's links, an agent's, a
connection's, a provider's badge, a time) is rendered once per page and reused.

``numbers/_rows.jinja`` puts the cells in their ``<tr>`` (the row's checkbox, an
edit form in place of the edited field's cell); the markup of each cell is here
and only here. ``console.number_rows.table_rows`` pairs each row with its cells.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import escape

from console.number_columns import COLUMNS
from console.times import time_tag
from phone_numbers.health import HealthFinding

Cell = Callable[[Any], str]  # a console.number_rows.NumberRow -> its <td> (safe HTML)
LF = "\n  "  # what used to come before each cell of the template


@dataclass(frozen=True)
class PageLinks:
    """What every row of one page shares: ``owner_query``/``health_query`` are the
    list's query string ending in ``owner=``/``health=`` (``console.lists``)."""

    can_edit: bool
    list_url: str
    owner_query: str = "?owner="
    health_query: str = "?health="


def _once(
    render: Callable[[Any], str], key: Callable[[Any], Any] | None = None
) -> Callable[[Any], str]:
    """``render`` remembered per argument, or per ``key(argument)``, for one page (a
    page has a few owners, agents, providers and findings, and many rows share an
    update time)."""
    seen: dict[Any, str] = {}

    def cached(arg: Any) -> str:
        k = arg if key is None else key(arg)
        html = seen.get(k)
        if html is None:
            html = seen[k] = render(arg)
        return html

    return cached


def _number(links: PageLinks) -> Cell:
    base = escape(f"{links.list_url}{links.health_query}")

    def badge(finding: HealthFinding) -> str:
        key, label = escape(finding.key), escape(finding.label)
        return (
            f'<a class="badge warn" href="{base}{key}" data-finding="{key}" '
            f'title="{escape(finding.meaning)}" '
            f'aria-label="{label}: list the numbers with this finding">{label}</a>'
        )

    badge = _once(badge)

    def cell(row: Any) -> str:
        url = row.detail_url
        findings = ""
        if row.findings:
            findings = f'<span class="findings">{"".join(map(badge, row.findings))}</span>'
        return (
            f'{LF}<td class="num"><a href="{url}" hx-get="{url}" hx-target="#panel" '
            f'hx-push-url="true" data-open title="{row.number_attr}">{escape(row.display)}</a>'
            f"{findings}</td>"
        )

    return cell


def _label(links: PageLinks) -> Cell:
    def cell(row: Any) -> str:
        label = row.n.label
        text = escape(label) if label else "—"
        edit = ""
        if links.can_edit:
            url = row.edit_label_url
            edit = (
                f' <a href="{url}" class="edit" data-edit-label hx-get="{url}?slot=row" '
                f'hx-target="closest tr" hx-swap="outerHTML" '
                f'aria-label="Edit label of {row.number_attr}" title="Edit label (e)">✎</a>'
            )
        return f'{LF}<td class="wrap label">{text}{edit}</td>'

    return cell


def _owner(links: PageLinks) -> Cell:
    query = escape(links.owner_query)
    listed = escape(f"{links.list_url}{links.owner_query}")

    def owner(row: Any) -> str:
        n = row.n
        email = escape(n.user.email)
        return (
            f'{LF}<td><a href="{query}{n.user_id}" hx-get="{listed}{n.user_id}" '
            f'hx-target="#results" hx-push-url="true">{email}</a> '
            f'<a href="{row.owner_url}" class="edit" title="{email}: account page" '
            f'aria-label="Account page of {email}">↗</a></td>'
        )

    return _once(owner, key=lambda row: row.n.user_id)


def _agent(links: PageLinks) -> Cell:
    def agent(row: Any) -> str:
        if not row.agent_url:
            return '<span class="badge muted">no agent</span>'
        a = row.n.inbound_agent
        return (
            f'<a href="{row.agent_url}">{escape(a.name)}</a> '
            f'<span class="badge lang">{escape(a.language)}</span>'
        )

    shown_for = _once(agent, key=lambda row: row.n.inbound_agent_id)

    def cell(row: Any) -> str:
        shown = shown_for(row)
        edit = ""
        if links.can_edit:
            url = row.edit_agent_url
            edit = (
                f' <a href="{url}" class="edit" data-edit-agent hx-get="{url}?slot=row" '
                f'hx-target="closest tr" hx-swap="outerHTML" '
                f'aria-label="Change inbound agent of {row.number_attr}" '
                f'title="Change agent">✎</a>'
            )
        return f'{LF}<td class="wrap">{shown}{edit}</td>'

    return cell


def _provider(links: PageLinks) -> Cell:
    def cell(row: Any) -> str:
        return (
            f'{LF}<td><span class="badge provider-{escape(row.n.telephony_provider)}">'
            f"{escape(row.provider_label)}</span></td>"
        )

    return _once(cell, key=lambda row: row.n.telephony_provider)


def _connection(links: PageLinks) -> Cell:
    def cell(row: Any) -> str:
        shown = "—"
        if row.connection_url:
            label = escape(row.n.telephony_account_connection.label)
            shown = f'<a href="{row.connection_url}">{label}</a>'
        return f"{LF}<td>{shown}</td>"

    return _once(cell, key=lambda row: row.n.telephony_account_connection_id)


_ACTIVE = (
    f'{LF}<td><span class="badge off">inactive</span></td>',
    f'{LF}<td><span class="badge ok">active</span></td>',
)
_OUTBOUND = (f"{LF}<td>—</td>", f'{LF}<td><span class="badge info">outbound only</span></td>')


def _active(links: PageLinks) -> Cell:
    return lambda row: _ACTIVE[bool(row.n.active)]


def _outbound_only(links: PageLinks) -> Cell:
    return lambda row: _OUTBOUND[bool(row.n.outbound_only)]


def _updated(links: PageLinks) -> Cell:
    tag = _once(lambda moment: f"{LF}<td>{time_tag(moment)}</td>")
    return lambda row: tag(row.n.updated_at)


_RENDERERS: dict[str, Callable[[PageLinks], Cell]] = {
    "number": _number,
    "label": _label,
    "owner": _owner,
    "agent": _agent,
    "provider": _provider,
    "connection": _connection,
    "active": _active,
    "outbound_only": _outbound_only,
    "updated": _updated,
}
assert _RENDERERS.keys() == COLUMNS.keys(), "every column has a cell renderer"


def _pick(row: Any) -> str:
    """An editor's first cell: the bulk checkbox and the ``row_of`` marker (a panel
    edit form includes it, so its answer sends the row only when the page shows it)."""
    pk = row.n.pk
    checked = " checked" if row.checked else ""
    return (
        f'{LF}<td class="pick"><input type="checkbox" name="ids" value="{pk}" form="bulk" '
        f'aria-label="Select {row.number_attr}"{checked}>'
        f'<input type="hidden" name="row_of" value="{pk}"></td>'
    )


def cell_renderers(columns: Sequence[str], links: PageLinks) -> list[tuple[str, str, Cell]]:
    """``(key, td class, renderer)`` of each cell of a row, in order, for one page:
    an editor's checkbox, then the columns shown."""
    cells = [(key, COLUMNS[key].cell_class, _RENDERERS[key](links)) for key in columns]
    return [("pick", "pick", _pick), *cells] if links.can_edit else cells
