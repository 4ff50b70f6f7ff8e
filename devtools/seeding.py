"""Deterministic demo inventory, from a few hundred numbers to millions.

Everything is derived from one ``random.Random(seed)``: the same seed and size
give the same accounts, agents and numbers (ids included). Numbers are
generated and inserted in batches, so memory stays flat whatever the size;
on PostgreSQL the tables are ANALYZEd afterwards so plans fit the new data.
"""

from __future__ import annotations

import random
import string
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache

from django.db import connection, transaction
from django.utils import timezone
from psycopg.types.json import Jsonb

from agents import fragments
from agents.models import (
    AccountConnection,
    Action,
    ActionType,
    Agent,
    ConnectionType,
    EndpointingSensitivity,
    InterruptSensitivity,
    Language,
    Prompt,
    PromptTemplate,
    PromptType,
    Webhook,
    WebhookEvent,
)
from phone_numbers import phone, upkeep
from phone_numbers.models import PhoneNumber, TelephonyProvider
from users.models import User

BATCH = 5000
NUMBERS_PER_AGENT = 25
NUMBERS_PER_CUSTOMER = 20_000

COMPANIES = [
    "Acme Dental",
    "Bluebird Realty",
    "Cedar Health",
    "Delta Logistics",
    "Evergreen Insurance",
    "Fjord Travel",
    "Granite Legal",
    "Harbor Bank",
    "Iris Veterinary",
    "Juniper Hotels",
    "Kestrel Motors",
    "Lumen Energy",
    "Maple Clinics",
    "Nimbus Telecom",
    "Orchid Spa",
    "Pioneer Roofing",
    "Quartz Labs",
    "Redwood Schools",
    "Summit Fitness",
    "Tidal Foods",
]
AGENT_ROLES = [
    "Receptionist",
    "Appointment booker",
    "Support triage",
    "Billing helper",
    "After-hours line",
    "Order status",
    "Lead qualifier",
    "Survey caller",
    "Reminder line",
    "Concierge",
]
LABELS = [
    "Main line",
    "Sales",
    "Support",
    "Billing",
    "Front desk",
    "Campaign",
    "After hours",
    "Store",
    "Marketing",
    "Returns",
    "Dispatch",
    "Reception",
]
CITIES = [
    "Austin",
    "Boston",
    "Chicago",
    "Denver",
    "London",
    "Miami",
    "New York",
    "Portland",
    "San Francisco",
    "Seattle",
    "Toronto",
    "Berlin",
]
US_AREA_CODES = [206, 212, 213, 305, 312, 404, 415, 512, 617, 646, 702, 718, 720, 808, 919]
VOICES = [
    ("elevenlabs", "Rachel"),
    ("cartesia", "Sonic"),
    ("playht", "Jennifer"),
    ("rime", "Cove"),
    ("azure", "en-US-JennyNeural"),
]
MODELS = [
    ("openai", "gpt-4o"),
    ("openai", "gpt-4.1-mini"),
    ("anthropic", "claude-sonnet"),
    ("deepseek", "deepseek-chat"),
    ("google", "gemini-2.0-flash"),
]


def _hex(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def _token(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(n))


def fake_credentials(kind: str, rng: random.Random) -> dict[str, str]:
    """Realistic-looking but fake credentials for one connection type."""
    short = kind.removeprefix("account_connection_")
    if kind == ConnectionType.TWILIO:
        return {"twilio_account_sid": "AC" + _hex(rng, 32), "twilio_auth_token": _hex(rng, 32)}
    if kind == ConnectionType.TELNYX:
        return {"telnyx_api_key": "KEY" + _token(rng, 40)}
    if kind == ConnectionType.OPENAI:
        return {"openai_api_key": "sk-proj-" + _token(rng, 48)}
    if kind == ConnectionType.AZURE_LLM:
        return {
            "azure_api_key": _hex(rng, 32),
            "azure_endpoint": "https://demo.openai.azure.com",
            "azure_deployment": "gpt-4o",
        }
    if kind == ConnectionType.AZURE_SPEECH:
        return {"azure_speech_key": _hex(rng, 32), "azure_speech_region": "eastus"}
    if kind == ConnectionType.GOOGLE:
        return {"google_api_key": "AIza" + _token(rng, 35)}
    if kind == ConnectionType.UN_PW_OAUTH:
        return {
            "username": f"svc-{_hex(rng, 6)}",
            "password": _token(rng, 20),
            "client_secret": _token(rng, 32),
        }
    if kind == ConnectionType.LOGIN_KEY_OAUTH:
        return {
            "login": f"ops-{_hex(rng, 6)}",
            "login_key": _token(rng, 32),
            "client_secret": _token(rng, 32),
        }
    return {f"{short}_api_key": _token(rng, 40)}


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


@dataclass
class Customer:
    user: User
    connections: dict[str, AccountConnection] = field(default_factory=dict)
    agents: list[uuid.UUID] = field(default_factory=list)
    agent_names: dict[uuid.UUID, str] = field(default_factory=dict)  # numbers' sort key


def number_for(index: int) -> str:
    """The index-th demo number: unique, mostly valid US and UK numbers.

    One in 200 is a placeholder with area code 555, which libphonenumber
    rejects, so the "invalid number" finding has something to show.
    """
    if index % 200 == 199:
        return f"+1555{index:07d}"[:12]
    if index % 10 == 9:
        return f"+4420{7000_0000 + index:08d}"
    area = US_AREA_CODES[index % len(US_AREA_CODES)]
    rest = index // len(US_AREA_CODES)
    exchange = 200 + (rest // 10_000) % 800
    return f"+1{area}{exchange:03d}{rest % 10_000:04d}"


def seed(
    numbers: int,
    *,
    seed_value: int = 7,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, int]:
    """Create a demo inventory of ``numbers`` numbers; return counts per kind."""
    rng = random.Random(seed_value)
    customers_count = max(4, min(500, -(-numbers // NUMBERS_PER_CUSTOMER)))
    agents_count = max(customers_count * 3, numbers // NUMBERS_PER_AGENT)
    counts: dict[str, int] = {}

    with transaction.atomic():
        customers = _customers(rng, customers_count)
        _parts(rng, customers, agents_count, counts)
    counts["users"] = len(customers)

    made = 0
    for batch in _number_batches(rng, customers, numbers):
        with transaction.atomic():
            _write_numbers(batch)
        made += len(batch)
        if progress:
            progress(made, numbers)
    counts["numbers"] = made
    # Rows written in bulk bypass the write paths: compute what they keep, once.
    # Statistics first: with none, the count updates plan a scan of every number
    # per prompt (minutes at 1M); then again, for the columns rebuild changed.
    _analyze()
    upkeep.rebuild()
    # The agents' and connections' stored JSON (agents.fragments): reads would render
    # each on first use, but a seeded inventory starts with all of them ready.
    fragments.rebuild()
    _analyze()
    return counts


def _analyze() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def _customers(rng: random.Random, count: int) -> list[Customer]:
    customers = []
    for i in range(count):
        company = COMPANIES[i % len(COMPANIES)]
        suffix = "" if i < len(COMPANIES) else f" {i // len(COMPANIES) + 1}"
        slug = company.lower().replace(" ", "-") + suffix.replace(" ", "-")
        user = User(id=_uuid(rng), email=f"ops@{slug}.example", name=company + suffix)
        user.set_unusable_password()
        customers.append(Customer(user=user))
    User.objects.bulk_create([c.user for c in customers])
    return customers


def _parts(
    rng: random.Random, customers: list[Customer], agents_count: int, counts: dict[str, int]
) -> None:
    """Connections, templates, webhooks, actions, prompts and agents per customer."""
    connections, templates, webhooks, actions = [], [], [], []
    per_customer_actions: dict[uuid.UUID, list[Action]] = {}
    all_types = list(ConnectionType)
    for i, customer in enumerate(customers):
        user = customer.user
        kinds = [
            ConnectionType.TWILIO,
            ConnectionType.TELNYX,
            ConnectionType.EXTERNAL_API_KEY,
            ConnectionType.OPENAI,
        ]
        kinds += [all_types[(i * 3 + k) % len(all_types)] for k in range(3)]
        for kind in dict.fromkeys(kinds):
            conn = AccountConnection(
                id=_uuid(rng),
                user=user,
                type=kind,
                label=f"{user.name} {kind.label}",
                description=f"{kind.label} account of {user.name}",
                steering_pool=[number_for(10_000_000 + i * 10 + k) for k in range(2)]
                if kind == ConnectionType.TWILIO
                else [],
                account_supports_any_caller_id=kind == ConnectionType.TWILIO and i % 2 == 0,
            )
            conn.set_credentials(fake_credentials(kind, rng))
            customer.connections[kind] = conn
            connections.append(conn)
        for t in range(2):
            templates.append(
                PromptTemplate(
                    id=_uuid(rng),
                    user=user,
                    label=f"{user.name} template {t + 1}",
                    required_context_keys=["customer_name", "account_id"][: t + 1],
                )
            )
        for w in range(2):
            webhooks.append(
                Webhook(
                    id=_uuid(rng),
                    user=user,
                    label=f"{user.name} events {w + 1}",
                    url=f"https://hooks.{user.email.split('@')[1]}/voice/{w + 1}",
                    method="POST" if w == 0 else "GET",
                    subscriptions=rng.sample(WebhookEvent.values, k=rng.randint(2, 5)),
                    description="Call events for the CRM",
                )
            )
        mine = []
        for a, kind in enumerate(list(ActionType) * 2):
            config: dict[str, object] = {}
            if kind == ActionType.TRANSFER_CALL:
                config = {
                    "phone_number": number_for(20_000_000 + i * 10 + a),
                    "signing_secret": "whsec_" + _token(rng, 32),
                }
            elif kind == ActionType.DTMF:
                config = {"digits": str(rng.randint(0, 9))}
            mine.append(
                Action(
                    id=_uuid(rng),
                    user=user,
                    type=kind,
                    label=f"{kind.label} {a // 3 + 1}",
                    description=f"{kind.label} when the caller asks",
                    config=config,
                    action_trigger={"type": "intent", "intent": kind.label.lower()},
                )
            )
        per_customer_actions[user.pk] = mine
        actions.extend(mine)
    AccountConnection.objects.bulk_create(connections)
    PromptTemplate.objects.bulk_create(templates)
    Webhook.objects.bulk_create(webhooks)
    Action.objects.bulk_create(actions)
    counts.update(
        connections=len(connections),
        templates=len(templates),
        webhooks=len(webhooks),
        actions=len(actions),
    )

    templates_by_user: dict[uuid.UUID, list[PromptTemplate]] = {}
    for t in templates:
        templates_by_user.setdefault(t.user_id, []).append(t)
    webhooks_by_user: dict[uuid.UUID, list[Webhook]] = {}
    for w in webhooks:
        webhooks_by_user.setdefault(w.user_id, []).append(w)

    languages = Language.values
    through = Agent.actions.through
    made = 0
    for start in range(0, agents_count, BATCH):
        prompts, agents, links = [], [], []
        for n in range(start, min(agents_count, start + BATCH)):
            customer = customers[n % len(customers)]
            user = customer.user
            role = AGENT_ROLES[n % len(AGENT_ROLES)]
            city = CITIES[(n // len(AGENT_ROLES)) % len(CITIES)]
            name = f"{city} {role}" + (f" {n // 120 + 1}" if n >= 120 else "")
            prompt = Prompt(
                id=_uuid(rng),
                user=user,
                label=f"{name} prompt",
                description=f"How the {role.lower()} talks",
                content=f"You are the {role.lower()} of {user.name} in {city}. Be brief.",
                context_endpoint=f"https://api.{user.email.split('@')[1]}/context"
                if n % 3 == 0
                else None,
                collect_fields=["name", "callback_number"][: 1 + n % 2],
                type=PromptType.PROMPT if n % 5 else PromptType.BLOCK,
                tags=[role.split()[0].lower(), city.lower().replace(" ", "-")],
                prompt_template=rng.choice(templates_by_user[user.pk]) if n % 4 else None,
            )
            prompts.append(prompt)
            # One agent in 40 uses a Twilio connection as its "OpenAI" connection,
            # as the upstream example does: a finding for support staff.
            llm_kind = ConnectionType.TWILIO if n % 40 == 39 else ConnectionType.OPENAI
            provider, model = MODELS[n % len(MODELS)]
            voice_provider, voice_id = VOICES[n % len(VOICES)]
            agent = Agent(
                id=_uuid(rng),
                user=user,
                name=name,
                prompt=prompt,
                language=languages[n % len(languages)] if n % 3 == 0 else Language.EN,
                voice={"provider": voice_provider, "voice_id": voice_id, "speed": 1.0},
                initial_message=f"Hi, thanks for calling {user.name}. How can I help?",
                webhook=rng.choice(webhooks_by_user[user.pk]) if n % 6 else None,
                interrupt_sensitivity=rng.choice(InterruptSensitivity.values),
                context_endpoint=prompt.context_endpoint,
                noise_suppression=n % 2 == 0,
                endpointing_sensitivity=rng.choice(EndpointingSensitivity.values),
                ivr_navigation_mode="default" if n % 7 else "off",
                conversation_speed=rng.choice([0.8, 1.0, 1.0, 1.2]),
                initial_message_delay=rng.choice([0, 250, 500, 1000]),
                openai_model_name_override=model if n % 9 == 0 else None,
                ask_if_human_present_on_idle=n % 3 != 0,
                openai_account_connection=customer.connections[llm_kind],
                run_do_not_call_detection=n % 4 == 0,
                llm_fallback={"provider": "openai", "model": "gpt-4o-mini"} if n % 5 == 0 else {},
                deepgram_keywords={city.split()[0].lower(): rng.choice([2, 5, 10])},
                idle_time_seconds=rng.choice([5, 10, 15]),
                llm_temperature=rng.choice([0.2, 0.5, 0.7, 1.0]),
                enable_recording=n % 3 != 1,
                provider=provider,
                model=model,
                label=name,
                description=f"{role} for {user.name}",
                transcriber={"provider": "deepgram", "model": "nova-2"},
                call_duration_sec=rng.choice([300, 600, 1200]),
                max_idle_check_count=rng.choice([2, 3, 5]),
            )
            agents.append(agent)
            customer.agents.append(agent.id)
            customer.agent_names[agent.id] = agent.name
            for action in rng.sample(per_customer_actions[user.pk], k=1 + n % 3):
                links.append(through(agent_id=agent.id, action_id=action.id))
        with transaction.atomic():
            Prompt.objects.bulk_create(prompts)
            Agent.objects.bulk_create(agents)
            through.objects.bulk_create(links)
        made += len(agents)
    counts.update(agents=made, prompts=made)


NUMBER_COLUMNS = (
    "id",
    "user_id",
    "number",
    "number_is_valid",
    "active",
    "label",
    "description",
    "inbound_agent_id",
    "outbound_only",
    "example_context",
    "telephony_provider",
    "telephony_account_connection_id",
    "agent_without_webhook",
    "misconfigured",
    "version",
    "created_at",
    "updated_at",
    "inbound_agent_name",  # the sort keys a number keeps (phone_numbers.upkeep)
    "owner_email",
)


@lru_cache(maxsize=65536)
def _valid_prefix(prefix: str) -> bool:
    # libphonenumber decides validity from the leading digits (NANP area code
    # and exchange, UK area code); the last four digits of the ranges we
    # generate never change it, so one check per prefix is enough.
    return phone.is_valid(prefix + "0000")


def _write_numbers(rows: list[tuple[object, ...]]) -> None:
    """Insert one batch: COPY on PostgreSQL (about 10x bulk_create), else bulk_create."""
    if connection.vendor == "postgresql":
        table = PhoneNumber._meta.db_table
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY {table} ({', '.join(NUMBER_COLUMNS)}) FROM STDIN") as copy,
        ):
            context = NUMBER_COLUMNS.index("example_context")
            for row in rows:
                copy.write_row((*row[:context], Jsonb(row[context]), *row[context + 1 :]))
        return
    PhoneNumber.objects.bulk_create(
        PhoneNumber(**dict(zip(NUMBER_COLUMNS, row, strict=True))) for row in rows
    )


def _number_batches(
    rng: random.Random, customers: list[Customer], total: int
) -> Iterator[list[tuple[object, ...]]]:
    """Rows of NUMBER_COLUMNS, BATCH at a time."""
    providers = (
        [TelephonyProvider.TWILIO] * 6 + [TelephonyProvider.TELNYX] * 3 + [TelephonyProvider.VONAGE]
    )
    provider_connection = {
        TelephonyProvider.TWILIO: ConnectionType.TWILIO,
        TelephonyProvider.TELNYX: ConnectionType.TELNYX,
        TelephonyProvider.VONAGE: ConnectionType.EXTERNAL_API_KEY,
    }
    now = timezone.now()
    batch: list[tuple[object, ...]] = []
    for index in range(total):
        customer = customers[index % len(customers)]
        provider = providers[index % len(providers)]
        kind = provider_connection[provider]
        if index % 97 == 96:  # a telephony connection of the wrong type: a finding
            kind = (
                ConnectionType.TELNYX
                if provider == TelephonyProvider.TWILIO
                else (ConnectionType.TWILIO)
            )
        number = number_for(index)
        connection_id = customer.connections[kind].pk if index % 50 else None
        number_id = _uuid(rng)  # before the agent: the same seed gives the same ids
        agent_id = None if index % 10 == 3 else rng.choice(customer.agents)
        batch.append(
            (
                number_id,
                customer.user.pk,
                number,
                _valid_prefix(number[:-4]),
                index % 13 != 0,
                f"{LABELS[index % len(LABELS)]} {CITIES[(index // 7) % len(CITIES)]}",
                "" if index % 4 else "Printed on the website",
                agent_id,
                index % 20 == 7,
                {"customer_name": "Alex"} if index % 8 == 0 else {},
                provider.value,
                connection_id,
                False,  # the kept health columns and the counts: upkeep.rebuild below
                False,
                1,
                now,
                now,
                customer.agent_names.get(agent_id),
                customer.user.email,
            )
        )
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch
