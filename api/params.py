"""Query-parameter serializers shared by the list endpoints."""

from __future__ import annotations

from rest_framework import serializers

MAX_PAGE = 1_000  # x size <= 100 stays within core.pagination.MAX_OFFSET


class StrictCharField(serializers.CharField):
    """A string that must arrive as a JSON string: 1 is not "1"."""

    def to_internal_value(self, data: object) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


def list_params(sort_columns: list[str], default_sort: str) -> type[serializers.Serializer]:
    """The upstream list parameters: page, size, sort_column, sort_desc."""

    class ListParams(serializers.Serializer):
        page = serializers.IntegerField(min_value=1, max_value=MAX_PAGE, default=1)
        size = serializers.IntegerField(min_value=1, max_value=100, default=10)
        sort_column = serializers.ChoiceField(choices=sort_columns, default=default_sort)
        sort_desc = serializers.BooleanField(default=False)

    return ListParams
