"""The numbers API: ``/v1/numbers/list``, ``/v1/numbers``, ``/v1/numbers/update``.

Each view authenticates the bearer token (DRF settings), scopes every read
to the token's owner, and answers in the upstream's shapes. Another user's
number or agent is answered exactly like one that does not exist.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from agents.queries import agent_for_owner
from api import pagecache
from api.authentication import TokenCanWrite
from api.base import RequestValidationError, page_envelope, validate
from api.etags import etag_of_data
from api.params import StrictCharField, list_params
from api.schema import ErrorOut, NumberOut, NumberPageOut, ValidationErrorOut
from audit.models import Source
from audit.reasons import clean_reason
from audit.services import Actor
from core.limits import limit
from phone_numbers import queries, services
from phone_numbers.present import documents, number_rows, numbers_json

NumberListParams = list_params(list(queries.API_NUMBER_SORTS), "number")
# 400: a malformed query string (core.middleware.RequestGuardMiddleware).
ERRORS = {400: ValidationErrorOut, 401: ErrorOut, 404: ErrorOut, 422: ValidationErrorOut}


class PhoneNumberParam(serializers.Serializer):
    # An unencoded "+" in a query string arrives as a space: accept either.
    phone_number = serializers.RegexField(
        r"^[+ ]?[1-9][0-9]{1,14}$",
        trim_whitespace=False,
        help_text="E.164, e.g. +14155550123 (URL-encode the + as %2B).",
        error_messages={"invalid": "Not an E.164 number (+ and up to 15 digits)."},
    )

    def validate_phone_number(self, value: str) -> str:
        return "+" + value.lstrip("+ ")


class NumberUpdateBody(serializers.Serializer):
    label = StrictCharField(max_length=255, allow_blank=True, required=False)
    description = StrictCharField(allow_blank=True, required=False, trim_whitespace=False)
    inbound_agent = serializers.UUIDField(
        allow_null=True, required=False, help_text="An agent id of the same user, or null."
    )
    outbound_only = serializers.BooleanField(required=False)
    example_context = serializers.DictField(
        child=StrictCharField(allow_blank=True, trim_whitespace=False), required=False
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        extra = sorted(set(self.initial_data) - set(self.fields))
        if extra:
            raise serializers.ValidationError(
                {
                    name: serializers.ErrorDetail("Unknown field.", code="extra_forbidden")
                    for name in extra
                }
            )
        return attrs


@extend_schema(
    operation_id="numbers_list",
    summary="List your numbers",
    parameters=[NumberListParams],
    responses={200: NumberPageOut, **ERRORS},
)
@api_view(["GET"])
def number_list(request: Request) -> HttpResponse:
    params = validate(NumberListParams, request.query_params, "query")
    queryset = queries.phone_number_list(
        owner=request.user, sort=params["sort_column"], desc=params["sort_desc"]
    )
    return pagecache.answer(
        request, params, lambda: page_envelope(number_rows(queryset), params, documents)
    )


def _params(request: Request) -> Any:
    return validate(PhoneNumberParam, request.query_params, "query")


def _owned(request: Request, params: Any = None) -> Any:
    """The queryset of the number the query string names, of the token's owner."""
    params = params or _params(request)
    return queries.phone_number_for_owner(owner=request.user, number=params["phone_number"])


def _one(found: list[Any]) -> Any:
    if not found:
        raise NotFound("Number not found.")
    return found[0]


@extend_schema(
    operation_id="numbers_get",
    summary="Get one of your numbers",
    parameters=[PhoneNumberParam],
    responses={200: NumberOut, **ERRORS},
)
@api_view(["GET"])
def number_detail(request: Request) -> HttpResponse:
    params = _params(request)
    return pagecache.answer(request, params, lambda: _one(numbers_json(_owned(request, params))))


def _if_match(request: Request, number: Any, owned: Any) -> int | None:
    """The version an ``If-Match`` header asks for, or None without one.

    Either the version (3, "3" or W/"3") or the ETag of ``GET /v1/numbers``:
    that one stands for the whole answer, agent included, so it matches only
    while the number's JSON is exactly what the client read.
    """
    raw = request.headers.get("If-Match")
    if raw is None or raw.strip() == "*":
        return None  # "*": any current representation, as without the header
    value = raw.strip().removeprefix("W/")
    if re.fullmatch(r'"?[0-9]{1,9}"?', value):  # ASCII digits: "³".isdigit() is true
        return int(value.strip('"'))
    if value.startswith('"') and value.endswith('"') and len(value) > 2:
        if value == etag_of_data(_one(numbers_json(owned))):
            return number.version
        return STALE_ETAG
    raise RequestValidationError(
        [
            {
                "loc": ["header", "If-Match"],
                "msg": 'Must be a version, e.g. "3", or the ETag of GET /v1/numbers.',
                "type": "value_error",
            }
        ]
    )


# No number is ever at version 0: an ETag that is not the current one is stale.
STALE_ETAG = 0

REASON_HEADER = "X-Change-Reason"


def _change_reason(request: Request) -> str:
    """The ``X-Change-Reason`` header (UTF-8), checked by ``audit.reasons``; 422 if bad."""
    raw = request.headers.get(REASON_HEADER)
    if raw is None:
        return ""
    problem = None
    try:
        # WSGI hands header bytes over as Latin-1: read them again as the UTF-8 sent.
        text = raw.encode("latin-1").decode("utf-8")
    except UnicodeEncodeError:
        text = raw  # already decoded (not from a real socket)
    except UnicodeDecodeError:
        text, problem = "", "Must be UTF-8 text."
    if problem is None:
        try:
            return clean_reason(text)
        except ValidationError as exc:
            problem = " ".join(exc.messages)
    raise RequestValidationError(
        [{"loc": ["header", REASON_HEADER], "msg": problem, "type": "value_error"}]
    )


@extend_schema(
    operation_id="numbers_update",
    summary="Update one of your numbers",
    request=NumberUpdateBody,
    parameters=[
        PhoneNumberParam,
        OpenApiParameter(
            "If-Match",
            str,
            OpenApiParameter.HEADER,
            required=False,
            description="The version the update is based on, or the ETag of GET /v1/numbers; "
            "a stale one answers 412.",
        ),
        OpenApiParameter(
            REASON_HEADER,
            str,
            OpenApiParameter.HEADER,
            required=False,
            description="Why the change is made (free text or a ticket reference, UTF-8, "
            f"one line, at most {limit('reason')} characters): kept in the number's history "
            "and searchable in the audit trail. Credential-shaped text in it is masked "
            "before it is stored.",
        ),
    ],
    responses={
        200: NumberOut,
        403: ErrorOut,
        409: ErrorOut,
        412: ErrorOut,
        413: ErrorOut,
        **ERRORS,
    },
)
@api_view(["POST"])
@permission_classes([IsAuthenticated, TokenCanWrite])
def number_update(request: Request) -> Response:
    owned = _owned(request)
    number = _one(list(owned))
    body = validate(NumberUpdateBody, request.data, "body")
    changes = dict(body)
    if "inbound_agent" in changes and changes["inbound_agent"] is not None:
        agent = agent_for_owner(owner=request.user, agent_id=changes["inbound_agent"])
        if agent is None:
            raise RequestValidationError(
                [{"loc": ["body", "inbound_agent"], "msg": "Agent not found.", "type": "not_found"}]
            )
        changes["inbound_agent"] = agent
    expected_version = _if_match(request, number, owned)
    reason = _change_reason(request)
    try:
        services.phone_number_update(
            number=number,
            changes=changes,
            actor=Actor.for_request(request, Source.API, reason=reason),
            expected_version=expected_version,
        )
    except ValidationError as exc:
        raise RequestValidationError(
            [
                {"loc": ["body", field], "msg": " ".join(messages), "type": "value_error"}
                for field, messages in exc.message_dict.items()
            ]
        ) from None
    except services.VersionConflict as conflict:
        if expected_version is not None:
            return Response(
                {
                    "detail": "If-Match is stale: the number changed since it was read (now "
                    f"version {conflict.current.version}). Read it again and retry."
                },
                status=status.HTTP_412_PRECONDITION_FAILED,
            )
        return Response(
            {"detail": "The number changed while it was being updated; retry."},
            status=status.HTTP_409_CONFLICT,
        )
    return Response(_one(numbers_json(owned)))
