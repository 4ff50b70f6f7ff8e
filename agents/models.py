"""Agents and what they are built from, as the upstream API describes them.

Every object belongs to one customer (``user``) and may only be linked to
objects of that same customer: model validation checks it, and the database
enforces it too (see ``agents.tenancy``).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from core.limits import LimitedModel, json_problems
from vault.fields import (
    EncryptedJSONField,
    SecretSealingJSONField,
    SecretURLField,
    masked_leftovers,
    reveal,
)
from vault.masking import mask_all

from .validators import (
    ChoiceListValidator,
    normalize_deepgram_keywords,
    validate_collect_fields,
    validate_deepgram_keywords,
    validate_http_url,
    validate_json_object,
    validate_steering_pool,
    validate_string_list,
)


class Language(models.TextChoices):
    EN = "en", "English"
    ES = "es", "Spanish"
    DE = "de", "German"
    HI = "hi", "Hindi"
    PT = "pt", "Portuguese"
    FR = "fr", "French"
    NL = "nl", "Dutch"
    ID = "id", "Indonesian"
    IT = "it", "Italian"
    JA = "ja", "Japanese"
    KO = "ko", "Korean"


class InterruptSensitivity(models.TextChoices):
    LOW = "low", "Low"
    HIGH = "high", "High"


class EndpointingSensitivity(models.TextChoices):
    AUTO = "auto", "Auto"
    RELAXED = "relaxed", "Relaxed"
    SENSITIVE = "sensitive", "Sensitive"


class IvrNavigationMode(models.TextChoices):
    DEFAULT = "default", "Default"
    OFF = "off", "Off"


class PromptType(models.TextChoices):
    PROMPT = "prompt", "Prompt"
    BLOCK = "block", "Block"


class ActionType(models.TextChoices):
    TRANSFER_CALL = "action_transfer_call", "Transfer call"
    END_CONVERSATION = "action_end_conversation", "End conversation"
    DTMF = "action_dtmf", "DTMF"


class WebhookMethod(models.TextChoices):
    GET = "GET", "GET"
    POST = "POST", "POST"


class WebhookEvent(models.TextChoices):
    MESSAGE = "event_message", "Message"
    ACTION = "event_action", "Action"
    CALL_CONNECTED = "event_phone_call_connected", "Call connected"
    CALL_ENDED = "event_phone_call_ended", "Call ended"
    CALL_DID_NOT_CONNECT = "event_phone_call_did_not_connect", "Call did not connect"
    TRANSCRIPT = "event_transcript", "Transcript"
    RECORDING = "event_recording", "Recording"
    HUMAN_DETECTION = "event_human_detection", "Human detection"


class ConnectionType(models.TextChoices):
    TWILIO = "account_connection_twilio", "Twilio"
    OPENAI = "account_connection_openai", "OpenAI"
    GOOGLE = "account_connection_google", "Google"
    AZURE_LLM = "account_connection_azure_llm", "Azure LLM"
    ELEVENLABS = "account_connection_elevenlabs", "ElevenLabs"
    DEEPGRAM = "account_connection_deepgram", "Deepgram"
    CARTESIA = "account_connection_cartesia", "Cartesia"
    PLAYHT = "account_connection_playht", "PlayHT"
    RIME = "account_connection_rime", "Rime"
    AZURE_SPEECH = "account_connection_azure_speech", "Azure Speech"
    ASSEMBLYAI = "account_connection_assemblyai", "AssemblyAI"
    DEEPSEEK = "account_connection_deepseek", "DeepSeek"
    TELNYX = "account_connection_telnyx", "Telnyx"
    UN_PW_OAUTH = "account_connection_un_pw_oauth", "Username/password OAuth"
    LOGIN_KEY_OAUTH = "account_connection_login_key_oauth", "Login key OAuth"
    EXTERNAL_API_KEY = "account_connection_external_api_key", "External API key"


# Connection types that can serve as an agent's LLM ("openai") connection.
LLM_CONNECTION_TYPES = frozenset(
    {
        ConnectionType.OPENAI,
        ConnectionType.AZURE_LLM,
        ConnectionType.DEEPSEEK,
        ConnectionType.GOOGLE,
    }
)


def choices_check(
    field: str, choices: type[models.TextChoices], name: str
) -> models.CheckConstraint:
    """A database CHECK that keeps an enumerated column within its choices."""
    return models.CheckConstraint(condition=Q(**{f"{field}__in": choices.values}), name=name)


def check_same_owner(
    owner_id: Any, errors: dict[str, list[str]], **links: models.Model | None
) -> None:
    """Record an error for every linked object whose user is not ``owner_id``."""
    for field, obj in links.items():
        if obj is not None and owner_id is not None and obj.user_id != owner_id:
            errors.setdefault(field, []).append(
                f"This {obj._meta.verbose_name} belongs to another user."
            )


class OwnedModel(LimitedModel, models.Model):
    """Fields every upstream object has: a UUID id, its owner and timestamps.

    ``version`` is ours, not upstream's: it grows by one on every write
    (``agents.services.graph_object_save``) so that a stale form is refused.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=True
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        abstract = True

    def check_same_owner(self, errors: dict[str, list[str]], **links: OwnedModel | None) -> None:
        """Record an error for every linked object that belongs to another user."""
        check_same_owner(self.user_id, errors, **links)


class PromptTemplate(OwnedModel):
    """A reusable prompt skeleton and the context keys a call must supply."""

    label = models.CharField(max_length=255, blank=True)
    required_context_keys = models.JSONField(
        default=list, blank=True, validators=[validate_string_list]
    )

    class Meta:
        ordering = ["label", "id"]
        constraints = [
            models.UniqueConstraint(fields=["id", "user"], name="prompttemplate_id_user")
        ]

    def __str__(self) -> str:
        return self.label or str(self.id)


class Prompt(OwnedModel):
    """The instructions an agent follows, optionally built from a template."""

    label = models.CharField(max_length=255, blank=True)
    description = models.TextField(blank=True)
    content = models.TextField(blank=True)
    context_endpoint = SecretURLField(
        max_length=2048, blank=True, null=True, validators=[validate_http_url]
    )
    collect_fields = models.JSONField(
        default=list, blank=True, validators=[validate_collect_fields]
    )
    type = models.CharField(max_length=16, choices=PromptType.choices, default=PromptType.PROMPT)
    tags = models.JSONField(default=list, blank=True, validators=[validate_string_list])
    prompt_template = models.ForeignKey(
        PromptTemplate, on_delete=models.RESTRICT, null=True, blank=True, related_name="prompts"
    )
    # Kept by the write paths (phone_numbers.upkeep), never counted per request.
    number_count = models.PositiveIntegerField(
        default=0, editable=False, help_text="Numbers routed to agents with this prompt."
    )

    class Meta:
        ordering = ["label", "id"]
        constraints = [
            models.UniqueConstraint(fields=["id", "user"], name="prompt_id_user"),
            choices_check("type", PromptType, "prompt_type_valid"),
        ]

    def __str__(self) -> str:
        return self.label or str(self.id)

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        self.check_same_owner(errors, prompt_template=self.prompt_template)
        if errors:
            raise ValidationError(errors)


class Action(OwnedModel):
    """Something an agent can do during a call (transfer, hang up, send DTMF)."""

    type = models.CharField(max_length=32, choices=ActionType.choices)
    label = models.CharField(max_length=255, blank=True)
    description = models.TextField(blank=True)
    config = SecretSealingJSONField(default=dict, blank=True, validators=[validate_json_object])
    action_trigger = SecretSealingJSONField(
        default=dict, blank=True, validators=[validate_json_object]
    )

    class Meta:
        ordering = ["label", "id"]
        constraints = [choices_check("type", ActionType, "action_type_valid")]

    def __str__(self) -> str:
        return self.label or self.get_type_display()


class Webhook(OwnedModel):
    """Where the platform posts call events for an agent."""

    subscriptions = models.JSONField(
        default=list,
        blank=True,
        validators=[ChoiceListValidator(WebhookEvent.values, "webhook events")],
    )
    url = SecretURLField(max_length=2048, validators=[validate_http_url])
    method = models.CharField(
        max_length=4, choices=WebhookMethod.choices, default=WebhookMethod.POST
    )
    label = models.CharField(max_length=255, blank=True)
    description = models.TextField(blank=True)
    number_count = models.PositiveIntegerField(
        default=0, editable=False, help_text="Numbers routed to agents with this webhook."
    )

    class Meta:
        ordering = ["label", "id"]
        constraints = [
            models.UniqueConstraint(fields=["id", "user"], name="webhook_id_user"),
            choices_check("method", WebhookMethod, "webhook_method_valid"),
        ]

    def __str__(self) -> str:
        return self.label or self.url


class AccountConnection(OwnedModel):
    """A customer's account at a third party, with its encrypted credentials.

    ``credentials`` is encrypted at rest; ``credentials_preview`` holds the
    same keys with masked values, written with the credentials, so that pages
    and the API never need to decrypt anything.
    """

    label = models.CharField(max_length=255, blank=True)
    description = models.TextField(blank=True)
    type = models.CharField(max_length=48, choices=ConnectionType.choices)
    credentials = EncryptedJSONField(null=True, blank=True)
    credentials_preview = models.JSONField(default=dict, blank=True, editable=False)
    steering_pool = models.JSONField(default=list, blank=True, validators=[validate_steering_pool])
    account_supports_any_caller_id = models.BooleanField(default=False)
    telephony_number_count = models.PositiveIntegerField(
        default=0, editable=False, help_text="Numbers with this telephony connection."
    )
    llm_number_count = models.PositiveIntegerField(
        default=0, editable=False, help_text="Numbers routed to agents with this LLM connection."
    )

    class Meta:
        ordering = ["label", "id"]
        constraints = [
            models.UniqueConstraint(fields=["id", "user"], name="accountconnection_id_user"),
            choices_check("type", ConnectionType, "accountconnection_type_valid"),
        ]

    def __str__(self) -> str:
        return self.label or self.get_type_display()

    def __repr__(self) -> str:
        return f"<AccountConnection {self.id} {self.type}>"

    def set_credentials(self, values: dict[str, Any] | None) -> None:
        """Replace the credentials and their masked preview together.

        They meet the JSON limits (``core.limits.json_problems``: a NUL key
        would break the preview's jsonb column), and no value is a masked
        preview: that would store the dots as the secret.
        """
        if values is not None:
            validate_json_object(values)
            problems = json_problems(values, "credentials") + [
                f"{where}: a masked preview, not a secret; enter the real value."
                for where in masked_leftovers(values, "credentials")
            ]
            if problems:
                raise ValidationError(problems, code="credentials")
        self.credentials = values
        self.credentials_preview = mask_all(values) if values else {}

    def reveal_credentials(self) -> dict[str, Any] | None:
        """Decrypt the credentials: only for code that must use them."""
        return reveal(self.credentials)

    @property
    def is_llm(self) -> bool:
        return self.type in LLM_CONNECTION_TYPES

    @property
    def number_count(self) -> int:
        """Numbers that depend on it: for telephony, or through their agent's LLM."""
        return self.telephony_number_count + self.llm_number_count


class Agent(OwnedModel):
    """A voice agent: what answers a phone number's inbound calls."""

    name = models.CharField(max_length=255)
    prompt = models.ForeignKey(
        Prompt, on_delete=models.RESTRICT, null=True, blank=True, related_name="agents"
    )
    language = models.CharField(max_length=2, choices=Language.choices, default=Language.EN)
    actions = models.ManyToManyField(Action, blank=True, related_name="agents")
    voice = SecretSealingJSONField(default=dict, blank=True, validators=[validate_json_object])
    initial_message = models.TextField(blank=True)
    webhook = models.ForeignKey(
        Webhook, on_delete=models.RESTRICT, null=True, blank=True, related_name="agents"
    )
    interrupt_sensitivity = models.CharField(
        max_length=8, choices=InterruptSensitivity.choices, default=InterruptSensitivity.LOW
    )
    context_endpoint = SecretURLField(
        max_length=2048, blank=True, null=True, validators=[validate_http_url]
    )
    noise_suppression = models.BooleanField(default=False)
    endpointing_sensitivity = models.CharField(
        max_length=16, choices=EndpointingSensitivity.choices, default=EndpointingSensitivity.AUTO
    )
    ivr_navigation_mode = models.CharField(
        max_length=16, choices=IvrNavigationMode.choices, default=IvrNavigationMode.DEFAULT
    )
    conversation_speed = models.FloatField(null=True, blank=True)
    initial_message_delay = models.PositiveIntegerField(
        null=True, blank=True, help_text="Milliseconds."
    )
    openai_model_name_override = models.CharField(max_length=255, blank=True, null=True)
    ask_if_human_present_on_idle = models.BooleanField(default=False)
    openai_account_connection = models.ForeignKey(
        AccountConnection,
        on_delete=models.RESTRICT,
        null=True,
        blank=True,
        related_name="llm_agents",
    )
    run_do_not_call_detection = models.BooleanField(default=False)
    llm_fallback = SecretSealingJSONField(
        default=dict, blank=True, validators=[validate_json_object]
    )
    deepgram_keywords = models.JSONField(
        default=dict, blank=True, validators=[validate_deepgram_keywords]
    )
    idle_time_seconds = models.PositiveIntegerField(null=True, blank=True)
    llm_temperature = models.FloatField(null=True, blank=True)
    enable_recording = models.BooleanField(default=False)
    provider = models.CharField(max_length=64, blank=True)
    model = models.CharField(max_length=255, blank=True)
    label = models.CharField(max_length=255, blank=True)
    description = models.TextField(blank=True)
    transcriber = SecretSealingJSONField(
        default=dict, blank=True, validators=[validate_json_object]
    )
    call_duration_sec = models.PositiveIntegerField(null=True, blank=True)
    max_idle_check_count = models.PositiveIntegerField(null=True, blank=True)
    number_count = models.PositiveIntegerField(
        default=0, editable=False, help_text="Numbers routed to this agent."
    )

    class Meta:
        ordering = ["name", "id"]
        indexes = [
            models.Index(fields=["name", "id"], name="agent_name_id"),
            models.Index(fields=["user", "name", "id"], name="agent_user_name_id"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["id", "user"], name="agent_id_user"),
            choices_check("language", Language, "agent_language_valid"),
            choices_check("interrupt_sensitivity", InterruptSensitivity, "agent_interrupt_valid"),
            choices_check(
                "endpointing_sensitivity", EndpointingSensitivity, "agent_endpointing_valid"
            ),
            choices_check("ivr_navigation_mode", IvrNavigationMode, "agent_ivr_valid"),
            models.CheckConstraint(
                condition=Q(llm_temperature__isnull=True)
                | Q(llm_temperature__gte=0, llm_temperature__lte=2),
                name="agent_llm_temperature_0_2",
                violation_error_message="LLM temperature must be between 0 and 2.",
            ),
            models.CheckConstraint(
                condition=Q(conversation_speed__isnull=True) | Q(conversation_speed__gt=0),
                name="agent_conversation_speed_positive",
                violation_error_message="Conversation speed must be greater than 0.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        if self.llm_temperature is not None and not 0 <= self.llm_temperature <= 2:
            errors.setdefault("llm_temperature", []).append("Must be between 0 and 2.")
        if self.conversation_speed is not None and self.conversation_speed <= 0:
            errors.setdefault("conversation_speed", []).append("Must be greater than 0.")
        self.check_same_owner(
            errors,
            prompt=self.prompt,
            webhook=self.webhook,
            openai_account_connection=self.openai_account_connection,
        )
        self.deepgram_keywords = normalize_deepgram_keywords(self.deepgram_keywords)
        if errors:
            raise ValidationError(errors)

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.deepgram_keywords = normalize_deepgram_keywords(self.deepgram_keywords)
        super().save(*args, **kwargs)

    @property
    def has_llm_mismatch(self) -> bool:
        """The OpenAI connection is set but is not of an LLM type (upstream allows it)."""
        conn = self.openai_account_connection
        return conn is not None and not conn.is_llm


class StoredJSON(models.Model):
    """An object's upstream JSON, rendered once when it is written (``agents.fragments``).

    The API assembles a page of numbers from these instead of loading the agent
    graph of every number into model instances. ``rule`` is the masking rule's
    version it was masked under (``vault.masking.RULE_VERSION``): a rendering under
    another rule is never served.
    """

    body = models.TextField()
    rule = models.PositiveSmallIntegerField()

    class Meta:
        abstract = True


class AgentJSON(StoredJSON):
    agent = models.OneToOneField(
        Agent, primary_key=True, on_delete=models.CASCADE, related_name="stored_json"
    )

    def __str__(self) -> str:
        return f"JSON of agent {self.agent_id}"

    class Meta:
        verbose_name = "agent's stored JSON"
        verbose_name_plural = "agents' stored JSON"


class ConnectionJSON(StoredJSON):
    connection = models.OneToOneField(
        AccountConnection, primary_key=True, on_delete=models.CASCADE, related_name="stored_json"
    )

    def __str__(self) -> str:
        return f"JSON of connection {self.connection_id}"

    class Meta:
        verbose_name = "connection's stored JSON"
        verbose_name_plural = "connections' stored JSON"
