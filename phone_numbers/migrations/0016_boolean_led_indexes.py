"""Indexes led by booleans where a boolean-led index competes (models.py says why).

PostgreSQL prices an index's heap reads by its first column's correlation with the
table's order. After 0015 rewrote every row, the number's correlation fell, and
(active, number, id) with a filter beat (telephony_provider, active, number, id) for
the provider + active filters (61,589 rows read to find 51: 140-170 ms instead of
under 1 at 1M), and beat the "routes nowhere" partial index (390 ms). Led by the
same booleans, the exact indexes win again.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("numbers", "0015_sort_keys"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="phonenumber", name="number_provider_active_number"),
        migrations.AddIndex(
            model_name="phonenumber",
            index=models.Index(
                fields=["active", "telephony_provider", "number", "id"],
                name="number_active_provider_number",
            ),
        ),
        migrations.RemoveIndex(model_name="phonenumber", name="number_routes_nowhere"),
        migrations.AddIndex(
            model_name="phonenumber",
            index=models.Index(
                condition=models.Q(
                    ("active", True), ("inbound_agent__isnull", True), ("outbound_only", False)
                ),
                fields=["active", "outbound_only", "number", "id"],
                name="number_routes_nowhere",
            ),
        ),
    ]
