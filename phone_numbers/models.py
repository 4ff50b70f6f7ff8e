"""The phone-number inventory."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Length
from django.db.models.lookups import GreaterThanOrEqual, LessThanOrEqual

from agents.models import AccountConnection, Agent, ConnectionType, check_same_owner
from agents.validators import validate_e164, validate_string_map
from core.limits import LimitedModel
from vault.fields import SecretSealingJSONField

from . import phone


class TelephonyProvider(models.TextChoices):
    TWILIO = "twilio", "Twilio"
    VONAGE = "vonage", "Vonage"
    TELNYX = "telnyx", "Telnyx"


# Connection types that fit a number's provider. Vonage has no connection type
# of its own upstream; its numbers use a generic API key or OAuth connection.
PROVIDER_CONNECTION_TYPES: dict[str, frozenset[str]] = {
    TelephonyProvider.TWILIO: frozenset({ConnectionType.TWILIO}),
    TelephonyProvider.TELNYX: frozenset({ConnectionType.TELNYX}),
    TelephonyProvider.VONAGE: frozenset(
        {
            ConnectionType.EXTERNAL_API_KEY,
            ConnectionType.UN_PW_OAUTH,
            ConnectionType.LOGIN_KEY_OAUTH,
        }
    ),
}


class PhoneNumber(LimitedModel, models.Model):
    """A rented phone number, owned by a customer, optionally routed to an agent.

    Deleting a customer who has numbers is refused (``user`` is PROTECT), and so
    is deleting an agent or a connection a number uses (RESTRICT: allowed only
    when the number goes in the same delete). ``agents.services`` unlinks the
    dependents first, each an audited, versioned write.

    ``version`` grows by one on every change and lets writers detect that
    someone else changed the number since they read it. ``number_is_valid``
    records whether libphonenumber considers the number valid for its region:
    upstream accepts placeholders such as ``+1234567890``, so we keep them and
    flag them instead of rejecting them.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="phone_numbers"
    )
    number = models.CharField(max_length=16, unique=True, validators=[validate_e164])
    active = models.BooleanField(default=True)
    label = models.CharField(max_length=255, blank=True)
    description = models.TextField(blank=True)
    inbound_agent = models.ForeignKey(
        Agent, on_delete=models.RESTRICT, null=True, blank=True, related_name="phone_numbers"
    )
    outbound_only = models.BooleanField(default=False)
    example_context = SecretSealingJSONField(
        default=dict, blank=True, validators=[validate_string_map]
    )
    telephony_provider = models.CharField(max_length=16, choices=TelephonyProvider.choices)
    telephony_account_connection = models.ForeignKey(
        AccountConnection,
        on_delete=models.RESTRICT,
        null=True,
        blank=True,
        related_name="phone_numbers",
    )
    number_is_valid = models.BooleanField(
        default=True, editable=False, help_text="libphonenumber considers it valid for its region."
    )
    # Health findings that depend on the agent graph, kept by every write path of
    # numbers and of the graph (phone_numbers.upkeep), so filters and badges read
    # a column instead of joining three tables (phone_numbers.health says what
    # each means; rebuild_health recomputes them).
    agent_without_webhook = models.BooleanField(default=False, editable=False)
    misconfigured = models.BooleanField(default=False, editable=False)
    # The inventory's "agent" and "owner" sort keys, copied onto the number so that a
    # sorted page is an index range scan instead of a join of every number: its
    # agent's name (NULL without an agent) and its owner's email, kept by the write
    # paths like the flags above (phone_numbers.upkeep; rebuild_health recomputes them).
    inbound_agent_name = models.CharField(max_length=255, null=True, blank=True, editable=False)
    owner_email = models.CharField(max_length=254, blank=True, default="", editable=False)
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["number", "id"]
        # Every sort the inventory offers ends with the primary key, so each
        # index carries it too and a page is an index range scan.
        indexes = [
            models.Index(fields=["label", "id"], name="number_label_id"),
            models.Index(fields=["updated_at", "id"], name="number_updated_id"),
            models.Index(fields=["created_at", "id"], name="number_created_id"),
            # An owner's list (the API's) by number: with the id in the index, the
            # ids of a deep page come from an index-only scan, not from a heap
            # page per row (docs/benchmarks.md, "Why these choices").
            models.Index(fields=["user", "number", "id"], name="number_user_number_id"),
            # The sorts by provider, active and outbound-only go on by number, then id
            # (NUMBER_SORTS), so each index serves its sort both ways as a range scan
            # (and the provider and active filters in the default order).
            models.Index(
                fields=["telephony_provider", "number", "id"], name="number_provider_number_id"
            ),
            models.Index(fields=["active", "number", "id"], name="number_active_number_id"),
            models.Index(
                fields=["outbound_only", "number", "id"], name="number_outbound_number_id"
            ),
            # The kept sort keys above (inbound_agent_name, owner_email).
            models.Index(fields=["inbound_agent_name", "id"], name="number_agent_name_id"),
            models.Index(fields=["owner_email", "id"], name="number_owner_email_id"),
            # Provider and active together (the inventory's two quick selects): both
            # in the index condition. Active first, as in number_active_number: the
            # planner prices an index's heap reads by its first column's correlation
            # with the table's order, and a boolean's is high whatever the layout, so
            # an index led by the provider lost to number_active_number_id plus a filter,
            # which walked 61,589 active numbers to find 51 Telnyx ones (140-170 ms
            # instead of under 1; docs/benchmarks.md).
            models.Index(
                fields=["active", "telephony_provider", "number", "id"],
                name="number_active_provider_number",
            ),
            # The support quick filters (health.HEALTH_FINDINGS: their conditions
            # must stay these): each a small partial index in the default sort
            # order, so the first page is a short index range scan instead of a
            # walk of every number (docs/benchmarks.md). "Outbound only" reads
            # number_outbound_number_id, which its sort needs anyway.
            models.Index(
                fields=["number", "id"],
                name="number_invalid",
                condition=Q(number_is_valid=False),
            ),
            # Led by its two booleans for the same reason: as (number, id) it lost to
            # number_active_number_id and number_outbound_number_id plus a filter (390 ms).
            models.Index(
                fields=["active", "outbound_only", "number", "id"],
                name="number_routes_nowhere",
                condition=Q(active=True, outbound_only=False, inbound_agent__isnull=True),
            ),
            models.Index(
                fields=["number", "id"],
                name="number_agent_without_webhook",
                condition=Q(agent_without_webhook=True),
            ),
            models.Index(
                fields=["number", "id"],
                name="number_misconfigured",
                condition=Q(misconfigured=True),
            ),
            # The overview's and the account page's counts (phone_numbers.overview):
            # the numbers with any finding (overview.ANY_FINDING: the condition must
            # stay that), by owner and provider, with every column a finding reads,
            # so each count is an index-only scan of the flagged numbers alone.
            # (Key columns, not INCLUDE: SQLite has no covering indexes, and Django
            # warns about one it would build without them.)
            models.Index(
                fields=[
                    "user",
                    "telephony_provider",
                    "active",
                    "outbound_only",
                    "inbound_agent",
                    "agent_without_webhook",
                    "misconfigured",
                    "number_is_valid",
                ],
                name="number_findings_owner",
                condition=Q(active=True, outbound_only=False, inbound_agent__isnull=True)
                | Q(agent_without_webhook=True)
                | Q(misconfigured=True)
                | Q(number_is_valid=False),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(telephony_provider__in=TelephonyProvider.values),
                name="number_provider_valid",
            ),
            # Portable part of the E.164 rule (the digits are checked by the
            # model validator; a regex CHECK would need a function SQLite lacks).
            models.CheckConstraint(
                condition=Q(number__startswith="+")
                & Q(GreaterThanOrEqual(Length("number"), 3))
                & Q(LessThanOrEqual(Length("number"), 16)),
                name="number_e164_shape",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        check_same_owner(
            self.user_id,
            errors,
            inbound_agent=self.inbound_agent,
            telephony_account_connection=self.telephony_account_connection,
        )
        if errors:
            raise ValidationError(errors)

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.number_is_valid = phone.is_valid(self.number)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "number" in update_fields:
            kwargs["update_fields"] = {*update_fields, "number_is_valid"}
        super().save(*args, **kwargs)
