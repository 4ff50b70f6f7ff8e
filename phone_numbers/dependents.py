"""What numbers depend on in the agent graph, for ``agents.services`` deletes.

Registered from ``NumbersConfig.ready``: the agents layer cannot import the
numbers layer, so the numbers layer tells it which numbers depend on an agent
or a connection, and how to unlink each one (a versioned, audited write).
"""

from __future__ import annotations

from agents.models import AccountConnection, Agent
from agents.services import SHOWN, Dependents, register_dependents
from audit.services import Actor

from .models import PhoneNumber
from .services import phone_number_save, phone_number_update


def _numbers_routed_to(agent: Agent) -> Dependents | None:
    numbers = PhoneNumber.objects.filter(inbound_agent=agent).order_by("number", "id")
    count = numbers.count()
    if not count:
        return None

    def unlink(actor: Actor) -> None:
        for number in numbers.select_for_update(of=("self",)):
            phone_number_update(
                number=number,
                changes={"inbound_agent": None},
                actor=actor,
                expected_version=number.version,
            )

    noun = "number" if count == 1 else "numbers"
    return Dependents(
        summary=f"{count:,} {noun} will stop routing calls (no inbound agent)",
        count=count,
        examples=list(numbers[:SHOWN]),
        unlink=unlink,
    )


def _numbers_using_connection(connection: AccountConnection) -> Dependents | None:
    numbers = PhoneNumber.objects.filter(telephony_account_connection=connection).order_by(
        "number", "id"
    )
    count = numbers.count()
    if not count:
        return None

    def unlink(actor: Actor) -> None:
        for number in numbers.select_for_update(of=("self",)):
            expected = number.version
            number.telephony_account_connection = None
            phone_number_save(number=number, actor=actor, expected_version=expected)

    noun = "number" if count == 1 else "numbers"
    return Dependents(
        summary=f"{count:,} {noun} will lose their telephony connection",
        count=count,
        examples=list(numbers[:SHOWN]),
        unlink=unlink,
    )


def register() -> None:
    register_dependents(Agent, _numbers_routed_to)
    register_dependents(AccountConnection, _numbers_using_connection)
