"""``manage.py rotate_encryption_keys``: re-encrypt every credential under the newest key.

Covers credentials and the secrets sealed inside JSON settings. Steps: put a
new key first in CREDENTIAL_KEYS (keep the old ones after it),
deploy, run this command, then remove the old keys. Values are decrypted and
re-encrypted in batches, each batch in its own transaction; the command can
be run again safely (values already under the newest key are skipped).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.core.management.base import CommandParser
from django.db import transaction
from django.views.decorators.debug import sensitive_variables

from agents.models import AccountConnection
from core.dbtimeouts import LongRunningCommand
from vault import crypto
from vault.fields import (
    URL_SEAL_MARK,
    SealedCredentials,
    SealedURL,
    reseal,
    sealed_json_fields,
    sealed_url_fields,
)


def key_counts() -> Counter[str]:
    counts: Counter[str] = Counter()
    stored = AccountConnection.objects.exclude(credentials__isnull=True).values_list(
        "credentials", flat=True
    )
    for sealed in stored.iterator(chunk_size=2000):
        try:
            counts[sealed.key_id] += 1
        except crypto.CredentialDecryptionError:  # not in the v1 format: reported below
            counts["unreadable"] += 1
    return counts


class Command(LongRunningCommand):
    help = "Re-encrypt every account-connection credential under the newest CREDENTIAL_KEYS key."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500)

    @sensitive_variables()
    def handle(self, *args: Any, **options: Any) -> None:
        newest = crypto.keyring().newest_id
        before = key_counts()
        self.stdout.write(f"Before: {dict(before) or 'no credentials'} (newest key {newest})")
        rotated, last_pk = 0, None
        while True:
            batch = AccountConnection.objects.exclude(credentials__isnull=True).order_by("pk")
            if last_pk is not None:
                batch = batch.filter(pk__gt=last_pk)
            rows = list(batch.values_list("pk", "credentials")[: options["batch_size"]])
            if not rows:
                break
            with transaction.atomic():
                for pk, sealed in rows:
                    try:
                        if sealed.key_id == newest:
                            continue
                        fresh = SealedCredentials(crypto.reencrypt(sealed.stored))
                    except crypto.CredentialDecryptionError:
                        self._unreadable(AccountConnection, pk, "credentials")
                        continue
                    AccountConnection.objects.filter(pk=pk).update(credentials=fresh)
                    rotated += 1
            last_pk = rows[-1][0]
        after = key_counts()
        self.stdout.write(f"Re-encrypted {rotated}. After: {dict(after) or 'no credentials'}")
        sealed = self._reseal_json(newest, options["batch_size"])
        self.stdout.write(f"Re-encrypted {sealed} secret(s) in JSON settings.")
        urls = self._reseal_urls(newest, options["batch_size"])
        self.stdout.write(f"Re-encrypted {urls} URL(s) with a password or secret parameter.")

    def _unreadable(self, model: Any, pk: Any, name: str) -> None:
        # Reported and skipped: one bad row must not stop the rotation of the rest.
        self.stderr.write(
            f"{model.__name__} {pk} {name}: a sealed value none of the configured keys "
            "opens (left as it is; re-enter it)."
        )

    def _reseal_urls(self, newest: str, batch_size: int) -> int:
        """Webhook URLs and context endpoints whose password or query is sealed."""
        total = 0
        for model, name in sealed_url_fields():
            rows = (
                model.objects.filter(**{f"{name}__contains": URL_SEAL_MARK})
                .values_list("pk", name)
                .order_by("pk")
            )
            for pk, value in rows.iterator(chunk_size=batch_size):
                if not isinstance(value, SealedURL):
                    continue
                try:
                    if crypto.stored_key_id(value.sealed) == newest:
                        continue
                    fresh = SealedURL(str.__str__(value), crypto.reencrypt(value.sealed))
                except crypto.CredentialDecryptionError:
                    self._unreadable(model, pk, name)
                    continue
                model.objects.filter(pk=pk).update(**{name: fresh})
                total += 1
        return total

    def _reseal_json(self, newest: str, batch_size: int) -> int:
        """Secrets sealed inside JSON settings (voice api_key, action signing secret...)."""
        total = 0
        for model, name in sealed_json_fields():
            rows = model.objects.exclude(**{name: {}}).values_list("pk", name).order_by("pk")
            for pk, value in rows.iterator(chunk_size=batch_size):
                try:
                    fresh, count = reseal(value, newest)
                except crypto.CredentialDecryptionError:
                    self._unreadable(model, pk, name)
                    continue
                if count:
                    # update() writes the envelopes as they are: already sealed.
                    model.objects.filter(pk=pk).update(**{name: fresh})
                    total += count
        return total
