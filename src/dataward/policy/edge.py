"""The policy's rules for the edge: rate limits, anomaly response and trusted identity providers.

    rate_limits:
      default: 600/minute              # per client, over every route
      roles: {analytics: 60/minute}    # a role's clients get this instead of the default
      routes:                          # per client and route, on top of the above
        "GET /v1/subjects/{subject_id}/{collection}": 300/minute
      anonymous: 60/minute             # per address, for calls that carry no token

A rate is what the `limits` library parses: `N/second|minute|hour|day`, or `N per 5 minutes`.

    identity_providers:                # access tokens from these issuers are accepted as well
      corp-idp:
        issuer: https://login.example.com/
        jwks_url: https://login.example.com/.well-known/jwks.json
        audience: dataward-api
        role: billing-service          # every client of the provider; the token cannot choose
"""

from __future__ import annotations

from typing import Annotated, Literal

from limits import RateLimitItem, parse
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from dataward.net import is_private_channel

__all__ = ["AnomalyRules", "IdentityProvider", "Rate", "RateLimits", "Webhook", "parse_rate"]

_ROLE = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,62}$")]
_CLAIM = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$")]
_Algorithm = Literal["RS256", "ES256", "EdDSA"]  # never `none`, never HMAC: keys are public
_ALGORITHMS: tuple[_Algorithm, ...] = ("RS256", "ES256", "EdDSA")
_ROUTE = Annotated[
    str, StringConstraints(pattern=r"^(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) /[^\s]*$", max_length=300)
]


def parse_rate(value: str) -> RateLimitItem:
    """The `limits` item a rate string names; `ValueError` with the accepted forms otherwise."""
    try:
        return parse(value)
    except ValueError:
        raise ValueError(f"not a rate: {value!r} (try 100/minute or 10 per 5 seconds)") from None


def _rate(value: str) -> str:
    parse_rate(value)
    return value


Rate = Annotated[str, AfterValidator(_rate)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RateLimits(_Model):
    default: Rate = Field(default="600/minute", description="Per client, over every route.")
    roles: dict[_ROLE, Rate] = Field(
        default_factory=dict, description="Per client of a role, instead of the default."
    )
    routes: dict[_ROUTE, Rate] = Field(
        default_factory=dict,
        description="Per client and route (`METHOD /path/{template}`), on top of the client's limit.",
    )
    anonymous: Rate = Field(
        default="60/minute", description="Per address, for calls without a token (token endpoint, sign-in)."
    )


class Webhook(_Model):
    """A signed webhook (`rights.webhooks`): where a processor hears of rectification, erasure and
    restriction (Art. 19), or anomaly alerts are posted. The signing secret is read from the
    environment variable `secret_env`, never from the policy file."""

    url: Annotated[str, StringConstraints(pattern=r"^https?://[^\s]+$", max_length=2000)]
    secret_env: Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_]{0,62}$")]

    @field_validator("url")
    @classmethod
    def _private(cls, value: str) -> str:
        if not is_private_channel(value):
            raise ValueError("a webhook must be an https:// URL (plain http only to localhost)")
        return value


class AnomalyRules(_Model):
    """How a client that departs from its own behaviour is answered (see `dataward.guard.anomaly`).

        anomaly:
          learning_days: 7             # judged only against the learning floors until then
          min_subjects_per_hour: 20    # no alarm below this, whatever the baseline
          throttle_to: 30/minute       # a client past `throttle_at` is slowed to this
          webhook: {url: https://soc.example.com/hooks/dataward, secret_env: ANOMALY_WEBHOOK_SECRET}

    A score is what a client read (records, and distinct subjects) divided by its allowance:
    `max(floor, mean + sensitivity * std, headroom * peak)` for that hour of day (and per day).
    Scores from records alone, the same subjects read again, never suspend: they disclose
    nothing new.
    """

    enabled: bool = Field(default=True, description="Watch reads and failures, and respond to anomalies.")
    learning_days: int = Field(
        default=7, ge=1, le=90, description="Days of a client's traffic before its baseline is trusted."
    )
    memory_days: float = Field(
        default=60.0,
        ge=1,
        le=365,
        description="Half-life, in days, of a remembered peak: long enough that a monthly job is still "
        "known when it comes back.",
    )
    sensitivity: float = Field(
        default=4.0, ge=1, le=20, description="Standard deviations above the usual before a score of 1."
    )
    headroom: float = Field(
        default=2.0, ge=1, le=20, description="How many times its remembered peak a client may read."
    )
    min_records_per_hour: int = Field(
        default=60, ge=1, description="Records per hour that never raise an alarm, whatever the baseline."
    )
    min_subjects_per_hour: int = Field(
        default=20, ge=1, description="Distinct subjects per hour that never raise an alarm."
    )
    min_records_per_day: int = Field(default=500, ge=1, description="Records per day that never alarm.")
    min_subjects_per_day: int = Field(
        default=100, ge=1, description="Subjects per day (each hour's distinct, summed) that never alarm."
    )
    learning_records_per_hour: int = Field(
        default=20000, ge=1, description="While learning, the only limit: records per hour."
    )
    learning_subjects_per_hour: int = Field(
        default=5000, ge=1, description="While learning, the only limit: distinct subjects per hour."
    )
    alert_at: float = Field(
        default=1.0, gt=0, description="Score that alerts: audit entry, webhook and metric."
    )
    throttle_at: float = Field(default=1.5, gt=0, description="Score that also throttles the client.")
    suspend_at: float = Field(
        default=2.5,
        gt=0,
        description="Score that revokes the client's tokens and suspends it until a person reinstates it.",
    )
    throttle_to: Rate = Field(default="30/minute", description="The rate a throttled client is held to.")
    throttle_minutes: int = Field(
        default=60, ge=1, le=7 * 24 * 60, description="How long a throttle lasts unless lifted."
    )
    failures_alert_per_minute: int = Field(
        default=20,
        ge=1,
        description="Failed authentications or denied requests per minute, from one client or address, "
        "that alert.",
    )
    failures_throttle_per_minute: int = Field(
        default=60,
        ge=1,
        description="Failures per minute that also throttle (an address is never suspended).",
    )
    webhook: Webhook | None = Field(default=None, description="Where alerts are posted, signed.")

    @model_validator(mode="after")
    def _escalating(self) -> AnomalyRules:
        if not self.alert_at <= self.throttle_at <= self.suspend_at:
            raise ValueError("alert_at <= throttle_at <= suspend_at: responses escalate")
        if self.failures_alert_per_minute > self.failures_throttle_per_minute:
            raise ValueError("failures_alert_per_minute must not exceed failures_throttle_per_minute")
        return self


class IdentityProvider(_Model):
    """An external issuer whose access tokens (JWTs) are accepted (see `dataward.identity.external`).

    The provider vouches for who the client is; the policy alone decides what it may do: every
    client of the provider acts in `role`, whatever the token claims, and its token's scopes only
    narrow that role's purposes.
    """

    issuer: Annotated[str, StringConstraints(min_length=1, max_length=2000)] = Field(
        description="The `iss` of the provider's tokens, compared exactly. Never the vault's own issuer."
    )
    jwks_url: Annotated[str, StringConstraints(pattern=r"^https?://[^\s]+$", max_length=2000)] = Field(
        description="Where the provider publishes its signing keys: https, or plain http to localhost only."
    )
    audience: Annotated[str, StringConstraints(min_length=1, max_length=2000)] = Field(
        description="The `aud` the provider puts in tokens meant for this vault (one of them, if several)."
    )
    role: _ROLE = Field(description="The role of the policy that every client of this provider acts in.")
    client_claim: _CLAIM = Field(
        default="client_id",
        description="The claim naming the client (then `azp`, then `sub`); its client id here is "
        "`<provider>:<value>`.",
    )
    scope_claim: _CLAIM = Field(
        default="scope",
        description="The claim holding the token's purposes (space-separated, or a list); purposes the "
        "role lacks are ignored.",
    )
    algorithms: list[_Algorithm] = Field(
        default_factory=lambda: list(_ALGORITHMS),
        min_length=1,
        description="The signature algorithms accepted; each key is used only with its own.",
    )
    leeway_seconds: int = Field(
        default=30, ge=0, le=300, description="Clock skew tolerated between the provider and us."
    )

    @field_validator("jwks_url")
    @classmethod
    def _private(cls, value: str) -> str:
        if not is_private_channel(value):
            raise ValueError("a JWKS URL must be https:// (plain http only to localhost)")
        return value
