"""``manage.py check_data``: stored rows over a limit, one line each, exit 1 if any."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, ManagementUtility, call_command

from agents.models import Agent
from phone_numbers.models import PhoneNumber
from tests.factories import make_agent, make_number

pytestmark = pytest.mark.django_db


def check(*args: str) -> str:
    out = io.StringIO()
    call_command("check_data", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def failing_check(*args: str) -> tuple[list[str], str]:
    """Run a check that must find problems: its lines, and its summary."""
    out = io.StringIO()
    with pytest.raises(CommandError) as failure:
        call_command("check_data", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue().splitlines(), str(failure.value)


def nested(levels: int) -> dict:
    value: object = "bottom"
    for _ in range(levels):
        value = {"a": value}
    return value  # type: ignore[return-value]


def test_it_says_every_row_is_within_the_limits(owner):
    make_number(owner, "+14155550100", inbound_agent=make_agent(owner), description="fine")
    out = check()
    assert out.startswith("No row is over a limit (")
    for name in ("AccountConnection", "Action", "Agent", "PhoneNumber", "Prompt", "Webhook"):
        assert name in out


def test_it_lists_each_problem_with_its_row_and_fails(owner):
    agent = make_agent(owner)
    make_number(owner, "+14155550100", inbound_agent=agent)
    make_number(owner, "+14155550101")  # within the limits: not listed
    # Stored before the limits existed: update() skips validation.
    PhoneNumber.objects.filter(number="+14155550100").update(
        description="x" * 10_001, example_context=nested(11)
    )
    Agent.objects.filter(pk=agent.pk).update(initial_message="y" * 10_001)

    lines, summary = failing_check()

    assert lines == [
        f"Agent {agent.pk}: initial_message: 10,001 characters; the limit is 10,000.",
        "PhoneNumber +14155550100: description: 10,001 characters; the limit is 10,000.",
        "PhoneNumber +14155550100: example_context" + ".a" * 10 + ": nested deeper than 10 levels.",
    ]
    assert summary.startswith("3 problems in 2 rows (")


def test_it_reads_every_row_whatever_the_chunk_size(owner):
    for i in range(5):
        make_number(owner, f"+1415555010{i}")
    PhoneNumber.objects.update(description="x" * 10_001)
    lines, summary = failing_check("--chunk-size", "2")
    assert sorted(line.split(":")[0] for line in lines) == [
        f"PhoneNumber +1415555010{i}" for i in range(5)
    ]
    assert summary.startswith("5 problems in 5 rows")


def test_it_follows_a_limit_changed_in_settings(owner, settings):
    make_number(owner, "+14155550100", description="x" * 50)
    assert check().startswith("No row is over a limit")
    settings.SWITCHBOARD_LIMITS = {"description": 40}
    lines, _ = failing_check()
    assert lines == ["PhoneNumber +14155550100: description: 50 characters; the limit is 40."]


def test_the_command_line_exits_with_1_when_it_finds_a_problem(owner, capsys):
    make_number(owner, "+14155550100")
    PhoneNumber.objects.update(description="x" * 10_001)
    with pytest.raises(SystemExit) as exit_:
        ManagementUtility(["manage.py", "check_data"]).execute()
    assert exit_.value.code == 1
    assert "CommandError: 1 problem in 1 row" in capsys.readouterr().err


def test_the_command_line_exits_with_0_when_clean(owner, capsys):
    make_number(owner, "+14155550100")
    ManagementUtility(["manage.py", "check_data"]).execute()  # no SystemExit: status 0
    assert "No row is over a limit" in capsys.readouterr().out


def test_it_refuses_a_chunk_size_below_1():
    with pytest.raises(CommandError, match="--chunk-size must be at least 1"):
        check("--chunk-size", "0")
