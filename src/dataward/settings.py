"""The one configuration object: built from the command line and the environment, then passed in.

Nothing reads the environment at import time. An installation is a folder (`--dir`, else
`$DATAWARD_HOME`, else `./.dataward`) holding the policy, the key file and, by default, the SQLite
database and key store; `DATAWARD_DATABASE_URL` points storage elsewhere (PostgreSQL in production)
and `DATAWARD_KEYSTORE_URL` the subjects' keys (see `dataward.keys.subject_keys`);
`DATAWARD_REDIS_URL` shares rate limits, revocations and anomaly counters between replicas.

How data subjects prove who they are (`/v1/me`): one-time codes sent by `DATAWARD_NOTIFIER`
(`console`, the default, for development; `smtp` with `DATAWARD_SMTP_*`; `webhook` with
`DATAWARD_WEBHOOK_*`), and ID tokens from the team's OpenID Connect provider (`DATAWARD_OIDC_*`).
Secrets are kept out of `repr`, so a logged `Settings` shows none.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from dataward.net import is_private_channel

__all__ = [
    "MAX_TOKEN_TTL_SECONDS",
    "NOTIFIERS",
    "OidcSettings",
    "Settings",
    "SmtpSettings",
    "WebhookSettings",
]

MAX_TOKEN_TTL_SECONDS = 900
NOTIFIERS = ("console", "smtp", "webhook")


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    """Where one-time codes are mailed from. The connection always upgrades with STARTTLS."""

    host: str
    sender: str
    port: int = 587
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout_seconds: float = 10.0


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    """An HTTPS endpoint that delivers one-time codes (SMS, chat...), signed with `secret`."""

    url: str
    secret: str = field(repr=False)
    timeout_seconds: float = 10.0

    def __post_init__(self) -> None:
        _check_url("DATAWARD_WEBHOOK_URL", self.url)
        if len(self.secret) < 32:
            raise ValueError("DATAWARD_WEBHOOK_SECRET must be at least 32 characters")


@dataclass(frozen=True, slots=True)
class OidcSettings:
    """The team's OpenID Connect provider, whose ID tokens a data subject may sign in with:
    `claim` of a verified token is looked up in the searchable field `subject_field`."""

    issuer: str
    audience: str
    jwks_url: str
    claim: str = "email"
    subject_field: str = "profile.email"

    def __post_init__(self) -> None:
        _check_url("DATAWARD_OIDC_JWKS_URL", self.jwks_url)


@dataclass(frozen=True, slots=True)
class Settings:
    home: Path
    database_url: str = field(repr=False)  # may hold a password
    keystore_url: str | None = field(
        default=None, repr=False
    )  # None: a file beside an SQLite database, else the same database
    issuer: str = "dataward"
    audience: str = "dataward-api"
    token_ttl_seconds: int = 600
    token_cache_size: int = 10_000
    max_body_bytes: int = 1_048_576
    audit_batch_max: int = 512
    audit_checkpoint_every: int = 1_000
    outbox_interval_seconds: float = 5.0  # how often due notices to processors are sent
    retention_interval_seconds: float = 3_600.0  # how often `dataward serve` sweeps retention
    notifier: str = "console"  # one of NOTIFIERS
    smtp: SmtpSettings | None = None
    webhook: WebhookSettings | None = None
    oidc: OidcSettings | None = None
    challenge_ttl_seconds: int = 600
    challenge_max_attempts: int = 5
    subject_token_ttl_seconds: int = 300
    refresh_token_ttl_seconds: int = 1_209_600  # 14 days; each use hands out a new one
    redis_url: str | None = field(default=None, repr=False)  # None: rate limits and revocations in process
    redis_prefix: str = "dataward"  # every key this installation keeps in Redis starts with it

    def __post_init__(self) -> None:
        if not 0 < self.token_ttl_seconds <= MAX_TOKEN_TTL_SECONDS:
            raise ValueError(f"token_ttl_seconds must be within 1..{MAX_TOKEN_TTL_SECONDS}")
        if not 0 < self.subject_token_ttl_seconds <= MAX_TOKEN_TTL_SECONDS:
            raise ValueError(f"subject_token_ttl_seconds must be within 1..{MAX_TOKEN_TTL_SECONDS}")
        if not 3_600 <= self.refresh_token_ttl_seconds <= 7_776_000:
            raise ValueError("refresh_token_ttl_seconds must be within 3600..7776000 (1 hour to 90 days)")
        if not 60 <= self.challenge_ttl_seconds <= 3600:
            raise ValueError("challenge_ttl_seconds must be within 60..3600")
        if not 1 <= self.challenge_max_attempts <= 10:
            raise ValueError("challenge_max_attempts must be within 1..10")
        if self.notifier not in NOTIFIERS:
            raise ValueError(f"DATAWARD_NOTIFIER must be one of {', '.join(NOTIFIERS)}")
        if self.notifier == "smtp" and self.smtp is None:
            raise ValueError("DATAWARD_NOTIFIER=smtp needs DATAWARD_SMTP_HOST and DATAWARD_SMTP_FROM")
        if self.notifier == "webhook" and self.webhook is None:
            raise ValueError(
                "DATAWARD_NOTIFIER=webhook needs DATAWARD_WEBHOOK_URL and DATAWARD_WEBHOOK_SECRET"
            )

    @property
    def policy_path(self) -> Path:
        return self.home / "dataward.yaml"

    @property
    def keyring_path(self) -> Path:
        return self.home / "keyring.json"

    @property
    def key_store_url(self) -> str:
        if self.keystore_url:
            return self.keystore_url
        if self.database_url.startswith("sqlite"):
            return f"sqlite:///{self.home / 'keystore.db'}"
        return self.database_url

    @classmethod
    def load(cls, home: Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings for the installation at `home`, with overrides from `environ`."""
        env = os.environ if environ is None else environ
        root = (home or Path(env.get("DATAWARD_HOME", ".dataward"))).resolve()
        url = env.get("DATAWARD_DATABASE_URL") or f"sqlite:///{root / 'dataward.db'}"
        settings = cls(
            home=root,
            database_url=url,
            keystore_url=env.get("DATAWARD_KEYSTORE_URL") or None,
            redis_url=env.get("DATAWARD_REDIS_URL") or None,
            redis_prefix=env.get("DATAWARD_REDIS_PREFIX") or "dataward",
        )
        if issuer := env.get("DATAWARD_ISSUER"):
            settings = replace(settings, issuer=issuer)
        if audience := env.get("DATAWARD_AUDIENCE"):
            settings = replace(settings, audience=audience)
        if ttl := env.get("DATAWARD_TOKEN_TTL"):
            settings = replace(settings, token_ttl_seconds=int(ttl))
        return replace(settings, **_subject_access(env))


def _subject_access(env: Mapping[str, str]) -> dict[str, Any]:
    """The settings of `/v1/me` from `DATAWARD_NOTIFIER`, `DATAWARD_SMTP_*`, `DATAWARD_WEBHOOK_*`,
    `DATAWARD_OIDC_*`, `DATAWARD_CHALLENGE_*` and `DATAWARD_SUBJECT_TOKEN_TTL`."""
    out: dict[str, Any] = {"notifier": env.get("DATAWARD_NOTIFIER") or "console"}
    for name, key in (
        ("challenge_ttl_seconds", "DATAWARD_CHALLENGE_TTL"),
        ("challenge_max_attempts", "DATAWARD_CHALLENGE_ATTEMPTS"),
        ("subject_token_ttl_seconds", "DATAWARD_SUBJECT_TOKEN_TTL"),
    ):
        if value := env.get(key):
            out[name] = _int(key, value)
    if env.get("DATAWARD_SMTP_HOST") or env.get("DATAWARD_SMTP_FROM"):
        out["smtp"] = SmtpSettings(
            host=_required(env, "DATAWARD_SMTP_HOST"),
            sender=_required(env, "DATAWARD_SMTP_FROM"),
            port=_int("DATAWARD_SMTP_PORT", env.get("DATAWARD_SMTP_PORT") or "587"),
            username=env.get("DATAWARD_SMTP_USERNAME") or None,
            password=env.get("DATAWARD_SMTP_PASSWORD") or None,
        )
    if env.get("DATAWARD_WEBHOOK_URL") or env.get("DATAWARD_WEBHOOK_SECRET"):
        out["webhook"] = WebhookSettings(
            url=_required(env, "DATAWARD_WEBHOOK_URL"), secret=_required(env, "DATAWARD_WEBHOOK_SECRET")
        )
    oidc = ("DATAWARD_OIDC_ISSUER", "DATAWARD_OIDC_AUDIENCE", "DATAWARD_OIDC_JWKS_URL")
    if any(env.get(key) for key in oidc):
        issuer, audience, jwks_url = (_required(env, key) for key in oidc)
        out["oidc"] = OidcSettings(
            issuer=issuer,
            audience=audience,
            jwks_url=jwks_url,
            claim=env.get("DATAWARD_OIDC_CLAIM") or "email",
            subject_field=env.get("DATAWARD_OIDC_FIELD") or "profile.email",
        )
    return out


def _required(env: Mapping[str, str], key: str) -> str:
    value = env.get(key)
    if not value:
        raise ValueError(f"{key} is not set")
    return value


def _int(key: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{key} must be a whole number") from None


def _check_url(key: str, url: str) -> None:
    """HTTPS, or plain HTTP to this machine only: codes and keys never cross a network in clear."""
    if not is_private_channel(url):
        raise ValueError(f"{key} must be an https:// URL (plain http only to localhost)")
