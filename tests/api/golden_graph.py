"""A fixed inventory whose API answers are pinned byte for byte (``test_golden_json``).

Everything here is deterministic: fixed UUIDs (users included), fixed emails,
fixed values, no timestamps in the JSON. It covers what a rewrite of the read
path could get wrong: every ``AccountConnection.type``, credentials long and
short (masked preview from ``set_credentials``), prompts with and without a
template, agents with no prompt, no actions, one action or several (ties on
label broken by id), webhooks and LLM connections present or null, secrets in
every free-form JSON field and URL field, non-ASCII text (accents, emoji,
U+2028 and U+2029), floats, nulls, and a second owner whose numbers must never
show up in the first owner's pages.

Ids are chosen so that the creation order is not the id order where a tie is
broken by id (two actions labelled "Transfer", two agents named "Bruno", two
numbers labelled "Echo", two numbers with no label).

JSON objects are written in PostgreSQL's jsonb key order (shorter keys first,
then by bytes; ``_jsonb_order``): jsonb stores keys in that order and SQLite
keeps them as written, and the API shows them as stored, so only objects
written in jsonb's order give the same bytes on both databases.

Writes go through the project's write paths (``agents.services.graph_object_save``
and ``phone_numbers.services.phone_number_save``, both after ``full_clean``),
then ``phone_numbers.upkeep.rebuild()`` as ``tests.factories.make_number`` does.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from agents.models import (
    AccountConnection,
    Action,
    ActionType,
    Agent,
    ConnectionType,
    Prompt,
    PromptTemplate,
    PromptType,
    Webhook,
)
from agents.services import graph_object_save
from audit.services import Actor
from phone_numbers import upkeep
from phone_numbers.models import PhoneNumber
from phone_numbers.services import phone_number_save
from users.models import User

ACTOR = Actor.for_command("golden_graph")


def _uuid(kind: int, n: int) -> uuid.UUID:
    """A fixed, readable UUID: ``kind`` names the table, ``n`` the object."""
    return uuid.UUID(f"{kind:08x}-0000-4000-8000-{n:012x}")


OWNER_ID = _uuid(0x601D, 1)
OTHER_OWNER_ID = _uuid(0x601D, 2)
OWNER_EMAIL = "golden-owner@acme.example"
OTHER_OWNER_EMAIL = "golden-owner@globex.example"

# The agent GET /v1/agents?id= is pinned for: every part of the graph present.
RICH_AGENT_ID = _uuid(0xA6E7, 0x11)
# GET /v1/numbers?phone_number=: one routed to an agent, one routed nowhere.
NUMBER_WITH_AGENT = "+14155550101"
NUMBER_WITHOUT_AGENT = "+14155550103"
OTHER_OWNER_NUMBERS = ("+14155550201", "+14155550202", "+14155550203")

# Secret values planted outside credentials; none may appear in an answer.
SECRET = {
    "prompt_ctx_key": "ctxkey-0123456789abcdef",
    "webhook_password": "whpass-0123456789",
    "webhook_token": "whtok_0123456789abcdef",
    "webhook2_signature": "sig-golden-short",
    "agent_ctx_token": "agtok-0123456789abcdef",
    "voice_api_key": "el-voice-key-0123456789",
    "voice_header_bearer": "Bearer abcdefghijklmnopqrstuvwx",
    "transcriber_token": "dg-trans-token-abcdef012345",
    "transcriber_short_key": "dgk-7x",
    "fallback_api_key": "sk-fallbackGOLDEN0123456789abcd",
    "fallback_url_password": "fbpass123",
    "xfer_auth_token": "xfer-token-0123456789abcdef",
    "trigger_password": "short-pw",
    "dtmf_url_password": "ivrpass99",
    "header_value": "hdrkey-0123456789abcdef",
    "transfer_note_token": "Bearer zyxwvutsrqponmlkjihgfedc",
    "transfer_github_pat": "ghp_GOLDEN0123456789abcdefghij",
    "context_api_key": "ctx-apikey-0123456789abcdef",
    "context_url_password": "cbpass777",
    "context_pin": "pin-73Q9",
    "other_context_token": "globex-ctx-token-0123456789",
    "other_voice_password": "globex-voice-pw",
}

# Credentials by connection: every value is masked in every answer.
CREDENTIALS: dict[str, dict[str, Any] | None] = {
    "twilio": {
        "twilio_account_sid": "ACgolden0123456789abcdef0123456789",
        "twilio_auth_token": "f0e1d2c3b4a5968778695a4b3c2d1e0f",
    },
    "telnyx": {"api_key": "KEYgolden0123456789ABCDEF", "public_key": "pk-tlx-1"},
    "external_api_key": {"api_key": "vn-short7", "api_secret": "VonageSecretValue1234"},
    "un_pw_oauth": {
        "username": "golden-ops-login",
        "password": "hunter2!",
        "token_url": "https://auth.acme.example/oauth/token-golden",
        "scopes": ["golden.calls.read", "golden.calls.write"],
    },
    "login_key_oauth": {
        "login": "golden-login-acme",
        "key": "lk_golden0123456789abcdef",
        "expires_in": 3600,
        "refresh_token": None,
        "rotate": True,
    },
    "deepgram": {"api_key": "dg_shortkey"},
    "cartesia": {"api_key": "cartesia-key-0123456789abcdef"},
    "playht": {"user_id": "playht-user-golden42", "api_key": "playht_secret_key_9876543210"},
    "rime": {"api_key": "rime-short"},
    "azure_speech": {
        "region": "golden-westeurope",
        "subscription_key": "azspeech0123456789abcdef0123456789",
    },
    "assemblyai": {"api_key": "aai_golden0123456789abcdef0123"},
    "openai": {
        "api_key": "sk-proj-GOLDEN0123456789abcdefghijklmnop",
        "organization": "org-golden123",
    },
    "azure_llm": {
        "api_key": "azllm-0123456789abcdef",
        "endpoint": "https://acme-golden.openai.azure.com/",
        "deployment": "golden-gpt4o-deploy",
        "api_version": "2024-06-01-golden",
    },
    "deepseek": {"api_key": "ds-short"},
    "google": {
        "service_account": {
            "kind": "golden-service-account",
            "private_key": (
                "-----BEGIN PRIVATE KEY-----\nMIIEgoldenKEY\n-----END PRIVATE KEY-----\n"
            ),
            "client_email": "bot@acme-golden.iam.gserviceaccount.com",
        }
    },
    "elevenlabs": {"xi_api_key": "el_golden0123456789abcdef"},
    "empty": None,
    "globex_twilio": {
        "twilio_account_sid": "ACglobex0123456789abcdef0123456789",
        "twilio_auth_token": "globex-auth-token-0123456789",
    },
    "globex_openai": {"api_key": "sk-globexGOLDEN0123456789abcdefgh"},
}


def _string_leaves(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _string_leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _string_leaves(item)
    elif isinstance(value, str):
        yield value


# Every raw secret planted: no golden file may contain one of them.
PLANTED_SECRETS: tuple[str, ...] = (
    *SECRET.values(),
    *(leaf for creds in CREDENTIALS.values() for leaf in _string_leaves(creds)),
)


def _jsonb_order(value: Any) -> Any:
    """``value`` with every object's keys in PostgreSQL jsonb's order (see the module)."""
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: (len(k.encode()), k.encode()))
        return {k: _jsonb_order(value[k]) for k in keys}
    if isinstance(value, list):
        return [_jsonb_order(v) for v in value]
    return value


def _save(obj: Any, actions: list[Action] | None = None) -> Any:
    return graph_object_save(obj=obj, actor=ACTOR, actions=actions)


def _connection(
    user: User, n: int, type: str, creds: str, label: str, **fields: Any
) -> AccountConnection:
    conn = AccountConnection(id=_uuid(0xC044, n), user=user, type=type, label=label, **fields)
    conn.set_credentials(_jsonb_order(CREDENTIALS[creds]))
    return _save(conn)


def _number(user: User, n: int, number: str, **fields: Any) -> PhoneNumber:
    if "example_context" in fields:
        fields["example_context"] = _jsonb_order(fields["example_context"])
    fields.setdefault("telephony_provider", "twilio")
    made = PhoneNumber(id=_uuid(0x0B0E, n), user=user, number=number, **fields)
    made.full_clean()
    return phone_number_save(number=made, actor=ACTOR)


@dataclass(frozen=True)
class GoldenGraph:
    owner: User
    other_owner: User


def build_golden_graph() -> GoldenGraph:
    """Create the inventory (in the test database) and bring kept counts up to date."""
    owner = User.objects.create_user(OWNER_EMAIL, id=OWNER_ID)
    other = User.objects.create_user(OTHER_OWNER_EMAIL, id=OTHER_OWNER_ID)
    conns = _connections(owner)
    agents = _agents(owner, conns)
    _numbers(owner, agents, conns)
    _other_owner(other)
    upkeep.rebuild()
    return GoldenGraph(owner=owner, other_owner=other)


def _connections(owner: User) -> dict[str, AccountConnection]:
    """One connection of every type (and one with no credentials at all)."""
    c = ConnectionType
    specs = [
        (1, c.TWILIO, "twilio", "Twilio – línea principal ☎️"),
        (2, c.TELNYX, "telnyx", "Telnyx"),
        (3, c.EXTERNAL_API_KEY, "external_api_key", "Vonage key"),
        (4, c.UN_PW_OAUTH, "un_pw_oauth", "Vonage OAuth (user/password)"),
        (5, c.LOGIN_KEY_OAUTH, "login_key_oauth", "Vonage OAuth (login key)"),
        (6, c.DEEPGRAM, "deepgram", "Deepgram"),
        (7, c.CARTESIA, "cartesia", "Cartesia"),
        (8, c.PLAYHT, "playht", "PlayHT"),
        (9, c.RIME, "rime", "Rime"),
        (10, c.AZURE_SPEECH, "azure_speech", "Azure Speech – Europe"),
        (11, c.ASSEMBLYAI, "assemblyai", "AssemblyAI"),
        (12, c.OPENAI, "openai", "OpenAI – prod 🤖"),
        (13, c.AZURE_LLM, "azure_llm", "Azure LLM"),
        (14, c.DEEPSEEK, "deepseek", "DeepSeek"),
        (15, c.GOOGLE, "google", "Google Gemini"),
        (16, c.ELEVENLABS, "elevenlabs", "ElevenLabs (used as LLM by mistake)"),
        (17, c.TWILIO, "empty", ""),
    ]
    conns = {
        creds: _connection(owner, n, type, creds, label) for n, type, creds, label in specs[1:]
    }
    conns["twilio"] = _connection(
        owner,
        1,
        c.TWILIO,
        "twilio",
        specs[0][3],
        description="Compte principal\u2028deuxième ligne\u2029fin – ñandú 🐦",
        steering_pool=["+14155550190", "+14155550191"],
        account_supports_any_caller_id=True,
    )
    return conns


def _actions(owner: User) -> dict[str, Action]:
    specs = {
        "billing": Action(
            id=_uuid(0xAC71, 0x10),
            user=owner,
            type=ActionType.TRANSFER_CALL,
            label="Billing transfer",
            description="Transfiere a facturación – 24/7 ☎️",
            config=_jsonb_order(
                {
                    "phone_number": "+14155550180",
                    "auth_token": SECRET["xfer_auth_token"],
                    "warm": True,
                    "timeout_seconds": 12.5,
                }
            ),
            action_trigger=_jsonb_order(
                {
                    "phrases": ["billing", "facturación", "請求"],
                    "password": SECRET["trigger_password"],
                }
            ),
        ),
        "dtmf": Action(
            id=_uuid(0xAC71, 0x20),
            user=owner,
            type=ActionType.DTMF,
            label="DTMF menu",
            config=_jsonb_order(
                {
                    "digits": "1#",
                    "url": f"https://ivr:{SECRET['dtmf_url_password']}@ivr.acme.example/menu",
                }
            ),
        ),
        "end": Action(
            id=_uuid(0xAC71, 0x30),
            user=owner,
            type=ActionType.END_CONVERSATION,
            label="End call",
            description="Line\u2028separator and\u2029paragraph separator",
            action_trigger=_jsonb_order(
                {"headers": [{"name": "X-Api-Key", "value": SECRET["header_value"]}], "idle": None}
            ),
        ),
        # Same label: the id breaks the tie, so the higher id is created first.
        "transfer_b": Action(
            id=_uuid(0xAC71, 0x41),
            user=owner,
            type=ActionType.TRANSFER_CALL,
            label="Transfer",
            config=_jsonb_order({"note": SECRET["transfer_note_token"], "phone_number": "+1415"}),
        ),
        "transfer_a": Action(
            id=_uuid(0xAC71, 0x40),
            user=owner,
            type=ActionType.TRANSFER_CALL,
            label="Transfer",
            config=_jsonb_order({"ref": SECRET["transfer_github_pat"]}),
        ),
    }
    return {name: _save(action) for name, action in specs.items()}


def _agents(owner: User, conns: dict[str, AccountConnection]) -> dict[str, Agent]:
    template = _save(
        PromptTemplate(
            id=_uuid(0x7E47, 1),
            user=owner,
            label="Intake – plantilla",
            required_context_keys=["customer_name", "account_tier"],
        )
    )
    with_template = _save(
        Prompt(
            id=_uuid(0x9E09, 1),
            user=owner,
            label="Recepción",
            description="Saluda y pregunta el motivo 🙂",
            content="Eres Ana.\u2028Habla con calma.\u2029Nunca reveles datos.",
            context_endpoint=(
                f"https://ctx.acme.example/context?api_key={SECRET['prompt_ctx_key']}&lang=fr"
            ),
            collect_fields=_jsonb_order(
                ["email", {"name": "budget", "type": "number", "required": True, "max": 1e-05}]
            ),
            tags=["sales", "français"],
            prompt_template=template,
        )
    )
    without_template = _save(
        Prompt(
            id=_uuid(0x9E09, 2),
            user=owner,
            label="Plain block",
            content="Answer briefly.",
            type=PromptType.BLOCK,
        )
    )
    hook = _save(
        Webhook(
            id=_uuid(0x3E8B, 1),
            user=owner,
            label="Events – prod",
            description="Réception des événements 📬",
            url=(
                f"https://hook-user:{SECRET['webhook_password']}@hooks.acme.example/voice"
                f"?token={SECRET['webhook_token']}&v=2"
            ),
            subscriptions=["event_message", "event_phone_call_ended", "event_recording"],
        )
    )
    plain_hook = _save(
        Webhook(
            id=_uuid(0x3E8B, 2),
            user=owner,
            label="Audit GET",
            url=f"https://audit.acme.example/hook?signature={SECRET['webhook2_signature']}",
            method="GET",
            subscriptions=[],
        )
    )
    actions = _actions(owner)
    rich = Agent(
        id=RICH_AGENT_ID,
        user=owner,
        name="Ana — Recepción 🎧",
        prompt=with_template,
        language="es",
        voice=_jsonb_order(
            {
                "provider": "elevenlabs",
                "voice_id": "Rachel",
                "api_key": SECRET["voice_api_key"],
                "stability": 0.5,
                "speed": 1.1,
                "headers": {"Authorization-Hint": "none", "X-Trace": SECRET["voice_header_bearer"]},
            }
        ),
        initial_message="¡Hola! Soy Ana 👋\u2028¿En qué puedo ayudarte?",
        webhook=hook,
        interrupt_sensitivity="high",
        context_endpoint=f"https://ctx.acme.example/agent?token={SECRET['agent_ctx_token']}",
        noise_suppression=True,
        endpointing_sensitivity="sensitive",
        ivr_navigation_mode="off",
        conversation_speed=1.25,
        initial_message_delay=1500,
        openai_model_name_override="gpt-4o-2024-08-06",
        ask_if_human_present_on_idle=True,
        openai_account_connection=conns["openai"],
        run_do_not_call_detection=True,
        llm_fallback=_jsonb_order(
            {
                "provider": "openai",
                "model": "gpt-4o-mini",
                "api_key": SECRET["fallback_api_key"],
                "endpoint": f"https://fb:{SECRET['fallback_url_password']}@llm.acme.example/v1",
                "token_count": 4096,
            }
        ),
        deepgram_keywords=_jsonb_order({"Zoë": 2, "kansas": "10", "acme": 1.5}),
        idle_time_seconds=30,
        llm_temperature=0.7,
        enable_recording=True,
        provider="openai",
        model="gpt-4o",
        label="Recepción 24/7",
        description="Atiende llamadas entrantes.\u2029Segunda línea 🚀",
        transcriber=_jsonb_order(
            {
                "provider": "deepgram",
                "model": "nova-2",
                "token": SECRET["transcriber_token"],
                "key": SECRET["transcriber_short_key"],
                "vad_threshold": 0.35,
                "min_gain": 1e-05,
            }
        ),
        call_duration_sec=600,
        max_idle_check_count=3,
    )
    agents = {"rich": _save(rich, actions=list(actions.values()))}
    # Same name as "bruno_a": the id breaks the tie, so the higher id is created first.
    agents["bruno_b"] = _save(
        Agent(
            id=_uuid(0xA6E7, 0x22),
            user=owner,
            name="Bruno",
            prompt=without_template,
            language="pt",
            openai_account_connection=conns["azure_llm"],
            llm_temperature=1.0,
            conversation_speed=0.9,
            initial_message_delay=0,
        ),
        actions=[actions["billing"]],
    )
    agents["bruno_a"] = _save(
        Agent(
            id=_uuid(0xA6E7, 0x21),
            user=owner,
            name="Bruno",
            prompt=with_template,
            openai_account_connection=conns["google"],
            llm_temperature=0.0,
            description="Same name as the other Bruno.",
        )
    )
    agents["bare"] = _save(Agent(id=_uuid(0xA6E7, 0x30), user=owner, name="Carla"))
    agents["dario"] = _save(
        Agent(
            id=_uuid(0xA6E7, 0x40),
            user=owner,
            name="Dario",
            prompt=with_template,
            language="fr",
            webhook=plain_hook,
            openai_account_connection=conns["deepseek"],
            llm_temperature=0.3,
        )
    )
    agents["eva"] = _save(
        Agent(
            id=_uuid(0xA6E7, 0x50),
            user=owner,
            name="Eva",
            prompt=without_template,
            language="de",
            webhook=hook,
            openai_account_connection=conns["elevenlabs"],
        ),
        actions=[actions["end"]],
    )
    return agents


def _numbers(owner: User, agents: dict[str, Agent], conns: dict[str, AccountConnection]) -> None:
    _number(
        owner,
        0x01,
        NUMBER_WITH_AGENT,
        label="Alpha – línea principal ☎️",
        description="Main line\u2028second line\u2029third 🎉",
        inbound_agent=agents["rich"],
        telephony_account_connection=conns["twilio"],
        example_context={
            "api_key": SECRET["context_api_key"],
            "customer": "Zoë Ångström 🎉",
            "callback": f"https://cb:{SECRET['context_url_password']}@cb.acme.example/hook",
            "pin": SECRET["context_pin"],
            "note": "line\u2028sep\u2029para",
        },
    )
    _number(
        owner,
        0x02,
        "+14155550102",
        label="Bravo",
        inbound_agent=agents["bruno_b"],
        telephony_provider="telnyx",
        telephony_account_connection=conns["telnyx"],
    )
    # No label, id higher than the next one's: created first, listed second by label.
    _number(owner, 0x04, NUMBER_WITHOUT_AGENT)
    _number(
        owner,
        0x03,
        "+14155550104",
        active=False,
        inbound_agent=agents["bare"],
        telephony_provider="vonage",
        telephony_account_connection=conns["external_api_key"],
    )
    _number(
        owner,
        0x05,
        "+14155550105",
        label="Charlie",
        outbound_only=True,
        telephony_provider="vonage",
        telephony_account_connection=conns["un_pw_oauth"],
    )
    _number(
        owner,
        0x06,
        "+14155550106",
        label="Delta 🚀",
        inbound_agent=agents["dario"],
        telephony_provider="vonage",
        telephony_account_connection=conns["login_key_oauth"],
    )
    # Same label "Echo": the id breaks the tie, so the higher id is created first.
    _number(
        owner,
        0x08,
        "+14155550107",
        label="Echo",
        inbound_agent=agents["eva"],
        telephony_account_connection=conns["deepgram"],
    )
    _number(
        owner,
        0x07,
        "+14155550108",
        label="Echo",
        inbound_agent=agents["rich"],
        telephony_account_connection=conns["cartesia"],
    )
    _number(
        owner,
        0x09,
        "+14155550109",
        label="Foxtrot",
        inbound_agent=agents["bruno_a"],
        telephony_account_connection=conns["playht"],
    )
    _number(
        owner,
        0x0A,
        "+14155550110",
        label="Golf",
        active=False,
        outbound_only=True,
        telephony_account_connection=conns["rime"],
    )
    _number(
        owner,
        0x0B,
        "+14155550111",
        label="Hotel",
        inbound_agent=agents["bruno_b"],
        telephony_account_connection=conns["azure_speech"],
    )
    _number(
        owner,
        0x0C,
        "+14155550112",
        label="India",
        description="Soporte técnico\u2028nivel 2",
        inbound_agent=agents["rich"],
        telephony_account_connection=conns["assemblyai"],
    )
    # A placeholder upstream accepts (libphonenumber calls it invalid).
    _number(
        owner, 0x0D, "+1234567890", label="Juliett", telephony_account_connection=conns["empty"]
    )
    _number(
        owner,
        0x0E,
        "+442079460123",
        label="Kilo – Londres",
        inbound_agent=agents["dario"],
        telephony_account_connection=conns["twilio"],
    )


def _other_owner(other: User) -> None:
    """The second owner: its own graph and three numbers."""
    twilio = _connection(other, 0x21, ConnectionType.TWILIO, "globex_twilio", "Globex Twilio")
    llm = _connection(other, 0x22, ConnectionType.OPENAI, "globex_openai", "Globex OpenAI")
    hook = _save(
        Webhook(
            id=_uuid(0x3E8B, 0x21),
            user=other,
            label="Globex hook",
            url="https://hooks.globex.example/voice",
            subscriptions=["event_action"],
        )
    )
    action = _save(
        Action(
            id=_uuid(0xAC71, 0x21),
            user=other,
            type=ActionType.END_CONVERSATION,
            label="Globex hang up",
        )
    )
    agent = _save(
        Agent(
            id=_uuid(0xA6E7, 0x61),
            user=other,
            name="Globex bot",
            webhook=hook,
            openai_account_connection=llm,
            voice=_jsonb_order({"password": SECRET["other_voice_password"], "voice": "Brian"}),
            llm_temperature=0.2,
        ),
        actions=[action],
    )
    first, second, third = OTHER_OWNER_NUMBERS
    _number(
        other,
        0x21,
        first,
        label="Globex main",
        inbound_agent=agent,
        telephony_account_connection=twilio,
        example_context={"session_token": SECRET["other_context_token"]},
    )
    _number(other, 0x22, second, label="Globex spare")
    _number(other, 0x23, third, label="Globex old", active=False)
