"""The API's error contract, in the upstream platform's shape.

Validation errors are HTTP 422 with
``{"detail": [{"loc": ["query", "size"], "msg": "...", "type": "..."}]}``;
every other error is ``{"detail": "<message>"}``. No message echoes the
submitted value, so a credential posted by mistake never comes back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.limits import limit, loads_bounded

# DRF error codes to the upstream's (pydantic-style) error types.
ERROR_TYPES = {
    "required": "missing",
    "null": "none_not_allowed",
    "min_value": "greater_than_equal",
    "max_value": "less_than_equal",
    "max_length": "string_too_long",
    "min_length": "string_too_short",
    "blank": "string_too_short",
    "invalid_choice": "enum",
    "not_a_dict": "dict_type",
    "not_a_list": "list_type",
    "does_not_exist": "not_found",
    "extra_forbidden": "extra_forbidden",
}
PARSING_TYPES = {
    serializers.RegexField: "string_pattern_mismatch",
    serializers.IntegerField: "int_parsing",
    serializers.BooleanField: "bool_parsing",
    serializers.UUIDField: "uuid_parsing",
    serializers.FloatField: "float_parsing",
    serializers.CharField: "string_type",
}


class RequestValidationError(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "Invalid request."

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__()
        self.errors = errors


def _error_type(field: Any, code: str) -> str:
    if code in ERROR_TYPES:
        return ERROR_TYPES[code]
    if code in ("invalid", "invalid_value") and field is not None:
        for kind, name in PARSING_TYPES.items():
            if isinstance(field, kind):
                return name
    return "value_error"


def _child_field(fields: Any, key: Any) -> Any:
    """The field that validated ``key`` of ``fields`` (a serializer, dict or list field)."""
    if isinstance(fields, Mapping):
        return fields.get(key)
    if isinstance(fields, serializers.Serializer):
        return fields.fields.get(key)
    return getattr(fields, "child", None)


def _flatten(errors: Any, loc: list[Any], field: Any) -> list[dict[str, Any]]:
    """DRF's nested error structure as a flat list of upstream error items."""
    out: list[dict[str, Any]] = []
    if isinstance(errors, dict):
        for key, value in errors.items():
            if key == "non_field_errors":
                out.extend(_flatten(value, loc, None))
            else:
                out.extend(_flatten(value, [*loc, key], _child_field(field, key)))
    elif isinstance(errors, list):
        for item in errors:
            out.extend(_flatten(item, loc, field))
    else:
        code = getattr(errors, "code", "invalid")
        out.append({"loc": loc, "msg": str(errors), "type": _error_type(field, code)})
    return out


class BodyTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."


class BoundedJSONParser(JSONParser):
    """JSON bodies within ``core.limits``: a bounded size, no NaN or Infinity, and
    nesting that cannot exhaust the stack (DRF's parser let RecursionError through:
    a 500). No message echoes the body."""

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        cap = limit("api_body_bytes")
        raw = stream.read(cap + 1)
        if len(raw) > cap:
            raise BodyTooLarge(f"The request body is over {cap:,} bytes.")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise exceptions.ParseError("The body is not valid UTF-8.") from None
        try:
            return loads_bounded(text)
        except ValueError as exc:
            raise exceptions.ParseError(f"The body is not valid JSON: {exc}.") from None


def validate(serializer_class: type[serializers.Serializer], data: Any, location: str) -> Any:
    """Validate ``data`` (query parameters or a body) or raise a 422 in upstream shape.

    Query parameters are passed as a plain dict: DRF treats an empty value in a
    QueryDict as absent (``?sort_column=`` would silently mean the default),
    which would accept what the schema says is invalid.
    """
    if hasattr(data, "dict") and location == "query":
        data = data.dict()
    serializer = serializer_class(data=data)
    errors = []
    if not serializer.is_valid():
        errors = _flatten(serializer.errors, [location], serializer.fields)
    if location == "query":
        # A misspelt parameter (sort=label) must not silently do nothing.
        errors += [
            {"loc": [location, name], "msg": "Unknown query parameter.", "type": "extra_forbidden"}
            for name in sorted(set(data) - set(serializer.fields))
        ]
    if errors:
        raise RequestValidationError(errors)
    return serializer.validated_data


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, RequestValidationError):
        return Response({"detail": exc.errors}, status=exc.status_code)
    if isinstance(exc, exceptions.ParseError):
        return Response(
            {"detail": [{"loc": ["body"], "msg": str(exc.detail), "type": "json_invalid"}]},
            status=status.HTTP_422_UNPROCESSABLE_ENTITY,
        )
    if isinstance(exc, exceptions.ValidationError):
        return Response(
            {"detail": _flatten(exc.detail, ["body"], None)},
            status=status.HTTP_422_UNPROCESSABLE_ENTITY,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict) and "detail" in response.data:
        response.data = {"detail": str(response.data["detail"])}
    return response


def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Unknown paths under /v1/ answer in JSON, like every other API error."""
    return JsonResponse({"detail": "Not found."}, status=404)


def page_envelope(queryset: Any, params: dict[str, Any], render: Any) -> dict[str, Any]:
    """A list endpoint's page envelope; a page beyond the depth cap is a 422 that says so.

    ``render`` turns the page's rows into its items all at once (a page reads the
    stored JSON of all its agents in one query)."""
    from core.pagination import PageTooDeep, page_of

    try:
        page = page_of(queryset, page=params["page"], size=params["size"])
    except PageTooDeep as exc:
        raise RequestValidationError(
            [{"loc": ["query", "page"], "msg": str(exc), "type": "too_deep"}]
        ) from None
    return page.envelope(render)
