"""The one table ``core`` owns: API rate-limit counters (``api.throttling``)."""

from __future__ import annotations

from django.db import models


class RateCounter(models.Model):
    """One fixed rate-limit window per key (``token:<prefix>``), shared by every worker.

    The window starts at the key's first request and lasts the rate's period;
    ``api.throttling`` counts a request with one ``INSERT ... ON CONFLICT DO
    UPDATE ... RETURNING`` that restarts an expired window and increments a
    live one, so concurrent workers never lose a count. An expired row means
    the same as no row, so rows are deleted whenever convenient.
    """

    key = models.CharField(max_length=100, primary_key=True)
    # Seconds since the epoch (time.time()), the clock every app server shares.
    window_end = models.FloatField()
    count = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.key}: {self.count} until {self.window_end:.0f}"
