"""/customers/<id>/: one customer account on one page.

What support asks about an account first: its numbers (how many, and the
findings among them, each a link to the inventory filtered to exactly those
numbers), what it owns in the agent graph (credentials as their stored masked
preview), its API tokens (public prefix and dates, never the secret or its
hash), and the recent changes of its objects (``AuditEntry.owner``, one index
range scan). A constant number of queries, whatever the account owns.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from agents.queries import owned_by
from audit.queries import recent_changes
from console.access import staff_view
from console.history import readable_entries
from console.overview import VIEW_CUSTOMERS, counts_row, findings_with_links, inventory_url
from core.pagination import count_rows
from phone_numbers import overview
from phone_numbers.health import HEALTH_FINDINGS
from phone_numbers.models import PhoneNumber, TelephonyProvider
from users.queries import TOKENS_SHOWN, account, api_tokens_of

CHANGES_SHOWN = 10


@require_GET
@staff_view(*VIEW_CUSTOMERS)
def customer_detail(request: HttpRequest, pk: Any) -> HttpResponse:
    customer = account(pk=pk)
    if customer is None:
        raise Http404("No such account.")
    by_provider = overview.findings_by_provider(owner=customer.pk)
    everything = overview.total(by_provider)
    number_count, number_count_is_estimated = count_rows(
        PhoneNumber.objects.filter(user=customer.pk)
    )
    tokens = list(api_tokens_of(customer.pk)[: TOKENS_SHOWN + 1])
    context: dict[str, Any] = {
        "customer": customer,
        "numbers_url": inventory_url(owner=customer.pk),
        "number_count": number_count,
        "number_count_is_estimated": number_count_is_estimated,
        "findings": findings_with_links(everything, owner=customer.pk),
        "flagged": everything.flagged,
        "finding_labels": list(HEALTH_FINDINGS.values()),
        "providers": [
            counts_row(
                TelephonyProvider(p).label,
                inventory_url(owner=customer.pk, provider=p),
                counts,
                owner=customer.pk,
                provider=p,
            )
            for p, counts in by_provider.items()
            if counts.flagged
        ],
        "owned": owned_by(customer.pk),
        "tokens": tokens[:TOKENS_SHOWN],
        "more_tokens": len(tokens) > TOKENS_SHOWN,
        "changes": readable_entries(
            recent_changes(owner=customer.pk, limit=CHANGES_SHOWN), request.user
        ),
        "changes_shown": CHANGES_SHOWN,
    }
    return render(request, "customers/detail.html", context)
