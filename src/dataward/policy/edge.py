"""The policy's rules for the edge: rate limits, anomaly response and trusted identity providers.

    rate_limits:
      default: 600/minute              # per client, over every route
      roles: {analytics: 60/minute}    # a role's clients get this instead of the default
      routes:                          # per client and route, on top of the above
        "GET /v1/subjects/{subject_id}/{collection}": 300/minute
      anonymous: 60/minute             # per address, for calls that carry no token

A rate is what the `limits` library parses: `N/second|minute|hour|day`, or `N per 5 minutes`.
"""

from __future__ import annotations

from typing import Annotated

from limits import RateLimitItem, parse
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

__all__ = ["AnomalyRules", "IdentityProvider", "Rate", "RateLimits", "parse_rate"]

_ROLE = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,62}$")]
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


class AnomalyRules(_Model):
    """How a client that departs from its own behaviour is answered (see `dataward.guard.anomaly`)."""

    enabled: bool = True


class IdentityProvider(_Model):
    """An external issuer whose JWTs are accepted (see `dataward.identity.external`)."""

    issuer: Annotated[str, StringConstraints(min_length=1, max_length=2000)]
    jwks_url: Annotated[str, StringConstraints(pattern=r"^https?://[^\s]+$", max_length=2000)]
