"""The API's JSON, pinned byte for byte against golden files (issue 18).

Each request below is answered for the inventory of ``golden_graph.build_golden_graph``
and compared with ``tests/api/golden/<name>.json``: the exact bytes of
``response.content``, so key order, escaping (DRF writes U+2028 and U+2029 as
``\\u2028`` and ``\\u2029``, other non-ASCII as UTF-8), float spelling (``1e-05``,
``1.0``) and separators are all part of the contract. A new read path (pages
assembled from stored, pre-rendered JSON) must give these same bytes.

The golden files were generated from the presenter at commit 1ebd2a7 (DRF's
renderer over ``phone_numbers.present`` / ``agents.present``), on SQLite and on
PostgreSQL, which gave identical bytes. They were regenerated once, deliberately,
when the API moved to orjson with stored agent JSON (issue 18): the only change
was the spelling of small floats, ``1e-05`` -> ``0.00001`` (the same number;
orjson writes no exponent down to 1e-7), reviewed as a diff in that commit.
Regenerate them only deliberately, when the API's output is meant to change, and
review the change as a diff. Each file is one line, so the review is the test's
own failure message: run the test
first without GOLDEN_UPDATE and read the token-by-token diff it prints
(``mismatch_report``), then

    GOLDEN_UPDATE=1 .venv/bin/python -m pytest tests/api/test_golden_json.py

and again with ``DATABASE_URL=postgres://...``: both databases must give the
same bytes (``git status`` shows no change after the second run). A change to
``golden_graph`` changes the files too: regenerate them from the code the
files pin, not from a read path under rewrite.
"""

from __future__ import annotations

import difflib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.test import Client

from tests.api.golden_graph import (
    NUMBER_WITH_AGENT,
    NUMBER_WITHOUT_AGENT,
    OTHER_OWNER_ID,
    OTHER_OWNER_NUMBERS,
    PLANTED_SECRETS,
    RICH_AGENT_ID,
    build_golden_graph,
)
from users.services import api_token_create

pytestmark = pytest.mark.django_db

GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("GOLDEN_UPDATE") == "1"


@dataclass(frozen=True)
class GoldenRequest:
    """A GET as one owner ("owner" or "other_owner"); its file is named after it."""

    who: str
    path: str
    params: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        parts = [self.who, self.path.strip("/").replace("/", "_")]
        parts += [f"{key}-{value}" for key, value in self.params.items()]
        return "__".join(parts)

    @property
    def golden_path(self) -> Path:
        return GOLDEN_DIR / f"{self.name}.json"


REQUESTS = [
    GoldenRequest("owner", "/v1/numbers/list"),
    GoldenRequest("owner", "/v1/numbers/list", {"size": "5", "page": "2"}),
    GoldenRequest("owner", "/v1/numbers/list", {"sort_column": "label", "sort_desc": "true"}),
    GoldenRequest("owner", "/v1/numbers/list", {"sort_column": "label", "size": "4"}),
    GoldenRequest("other_owner", "/v1/numbers/list"),
    GoldenRequest("owner", "/v1/numbers", {"phone_number": NUMBER_WITH_AGENT}),
    GoldenRequest("owner", "/v1/numbers", {"phone_number": NUMBER_WITHOUT_AGENT}),
    GoldenRequest("owner", "/v1/agents/list"),
    GoldenRequest("owner", "/v1/agents/list", {"size": "2", "page": "2"}),
    GoldenRequest("other_owner", "/v1/agents/list"),
    GoldenRequest("owner", "/v1/agents", {"id": str(RICH_AGENT_ID)}),
]


def _get(request: GoldenRequest) -> bytes:
    graph = build_golden_graph()
    user = graph.owner if request.who == "owner" else graph.other_owner
    token = api_token_create(user=user, name="golden")[1]
    response = Client().get(request.path, request.params, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200, (request.name, response.content[:500])
    return response.content


# Shown by name in a diff: a raw line or paragraph separator would break the line.
_INVISIBLE = {"\u2028": "<raw U+2028>", "\u2029": "<raw U+2029>"}


def _pretty(body: bytes) -> list[str]:
    """One JSON document as indented lines, every token spelt exactly as sent.

    Not ``json.loads`` then ``json.dumps``: that would hide what the bytes must
    keep (a float's spelling, an escape, the spacing). Lines break after ``{``,
    ``[`` and ``,`` and before ``}`` and ``]`` outside strings; key order is kept.
    """
    lines: list[str] = []
    line: list[str] = []
    depth = line_depth = 0
    in_string = escaped = False

    def flush() -> None:
        nonlocal line_depth
        text = "".join(_INVISIBLE.get(ch, ch) for ch in line).strip()
        if text:
            lines.append("  " * line_depth + text)
        line.clear()
        line_depth = depth

    for ch in body.decode("utf-8", "replace"):
        if in_string:
            line.append(ch)
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch in "{[":
            line.append(ch)
            depth += 1
            flush()
        elif ch in "}]":
            flush()
            depth -= 1
            line_depth = depth
            line.append(ch)
        elif ch == ",":
            line.append(ch)
            flush()
        else:
            in_string = ch == '"'
            line.append(ch)
    flush()
    return lines


def mismatch_report(name: str, expected: bytes, got: bytes) -> str:
    """The diff of both documents pretty-printed token for token (``_pretty``)."""
    try:
        same = json.loads(expected) == json.loads(got)
    except ValueError:
        same = False
    diff = difflib.unified_diff(
        _pretty(expected), _pretty(got), f"golden/{name}.json", "response", lineterm=""
    )
    head = "Equal as JSON, different bytes:" if same else "Different JSON:"
    return "\n".join([head, *list(diff)[:300]])


@pytest.mark.parametrize("request_", REQUESTS, ids=lambda r: r.name)
def test_the_answer_is_the_golden_bytes(request_: GoldenRequest) -> None:
    got = _get(request_)
    if UPDATE:
        GOLDEN_DIR.mkdir(exist_ok=True)
        request_.golden_path.write_bytes(got)
    expected = request_.golden_path.read_bytes()
    assert got == expected, mismatch_report(request_.name, expected, got)


def test_every_golden_file_belongs_to_a_request() -> None:
    """A renamed or removed request leaves no stale golden file behind."""
    assert sorted(p.name for p in GOLDEN_DIR.glob("*.json")) == sorted(
        r.golden_path.name for r in REQUESTS
    )


def _spellings(secret: str) -> set[bytes]:
    """The ways a string can appear in a JSON answer: raw, or JSON-escaped."""
    return {
        secret.encode(),
        json.dumps(secret, ensure_ascii=False)[1:-1].encode(),
        json.dumps(secret)[1:-1].encode(),
    }


@pytest.mark.parametrize("request_", REQUESTS, ids=lambda r: r.name)
def test_no_golden_file_holds_a_planted_secret(request_: GoldenRequest) -> None:
    body = request_.golden_path.read_bytes()
    leaked = [s for s in PLANTED_SECRETS if any(form in body for form in _spellings(s))]
    assert leaked == []


def test_the_planted_secrets_are_many_and_distinct() -> None:
    # The scan above means something only if the graph planted what it says.
    assert len(PLANTED_SECRETS) >= 40
    assert len(set(PLANTED_SECRETS)) == len(PLANTED_SECRETS)
    assert all(len(s) >= 4 for s in PLANTED_SECRETS)


@pytest.mark.parametrize(
    "request_", [r for r in REQUESTS if r.who == "owner"], ids=lambda r: r.name
)
def test_the_first_owner_never_sees_the_second_owners_objects(request_: GoldenRequest) -> None:
    body = request_.golden_path.read_bytes()
    assert str(OTHER_OWNER_ID).encode() not in body
    assert not [n for n in OTHER_OWNER_NUMBERS if n.encode() in body]
    assert b"Globex" not in body
