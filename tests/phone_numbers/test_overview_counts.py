"""phone_numbers.overview: the overview's and the account page's counts are those of
the health filters, read through the one partial index of flagged numbers."""

from __future__ import annotations

import pytest

from phone_numbers import overview
from phone_numbers.health import HEALTH_FINDINGS
from phone_numbers.models import PhoneNumber
from tests.console.health_data import make_inventory
from tests.factories import make_number, make_user

pytestmark = pytest.mark.django_db


def test_the_index_of_flagged_numbers_has_the_condition_the_counts_filter_by():
    index = next(i for i in PhoneNumber._meta.indexes if i.name == "number_findings_owner")
    assert index.condition == overview.ANY_FINDING
    # Every column a finding's condition reads is in the index (index-only scans).
    read = set(index.fields)
    for finding in HEALTH_FINDINGS.values():
        for name, _value in finding.condition.children:
            assert name.split("__")[0] in read, (finding.key, name)


def fresh(owner=None, provider=None) -> dict[str, int]:
    numbers = PhoneNumber.objects.all()
    if owner is not None:
        numbers = numbers.filter(user=owner)
    if provider is not None:
        numbers = numbers.filter(telephony_provider=provider)
    return {key: numbers.filter(f.condition).count() for key, f in HEALTH_FINDINGS.items()}


def test_the_counts_by_provider_and_owner_are_the_filters_counts(owner, other_tenant):
    make_inventory(owner, other_tenant)
    by_provider, top = overview.inventory_findings()
    for provider, counts in by_provider.items():
        assert counts.by_finding == fresh(provider=provider)
    assert overview.total(by_provider).by_finding == fresh()
    assert (
        overview.total(by_provider).flagged
        == PhoneNumber.objects.filter(overview.ANY_FINDING).count()
    )
    assert [c.email for c in top] == [owner.email, other_tenant.email]
    for customer in top:
        assert customer.counts.by_finding == fresh(owner=customer.user_id)
        mine = overview.total(overview.findings_by_provider(owner=customer.user_id))
        assert mine == customer.counts


def test_the_top_owners_are_cut_in_the_database_most_first_then_by_id():
    owners = [make_user(f"c{i}@example.com") for i in range(4)]
    for i, user in enumerate(owners):
        for j in range(1 + i % 2):  # two owners with 1 flagged number, two with 2
            make_number(user, f"+141566{i:02d}{j:03d}")
    _, top = overview.inventory_findings(limit=3)
    two = sorted((o for i, o in enumerate(owners) if i % 2), key=lambda u: str(u.pk))
    one = sorted((o for i, o in enumerate(owners) if not i % 2), key=lambda u: str(u.pk))
    assert [c.user_id for c in top] == [*(u.pk for u in two), one[0].pk]
    assert [c.counts.flagged for c in top] == [2, 2, 1]


def test_an_inventory_without_findings_counts_zeros():
    by_provider, top = overview.inventory_findings()
    assert top == []
    assert set(by_provider) == {"twilio", "telnyx", "vonage"}
    assert overview.total(by_provider) == overview.FindingCounts()
