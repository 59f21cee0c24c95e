"""The one configuration object: built from the command line and the environment, then passed in.

Nothing reads the environment at import time. An installation is a folder (`--dir`, else
`$DATAWARD_HOME`, else `./.dataward`) holding the policy, the key file and, by default, the SQLite
database; `DATAWARD_DATABASE_URL` points storage elsewhere (PostgreSQL in production).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

__all__ = ["MAX_TOKEN_TTL_SECONDS", "Settings"]

MAX_TOKEN_TTL_SECONDS = 900


@dataclass(frozen=True, slots=True)
class Settings:
    home: Path
    database_url: str
    issuer: str = "dataward"
    audience: str = "dataward-api"
    token_ttl_seconds: int = 600
    token_cache_size: int = 10_000
    max_body_bytes: int = 1_048_576
    audit_batch_max: int = 512
    audit_checkpoint_every: int = 1_000

    def __post_init__(self) -> None:
        if not 0 < self.token_ttl_seconds <= MAX_TOKEN_TTL_SECONDS:
            raise ValueError(f"token_ttl_seconds must be within 1..{MAX_TOKEN_TTL_SECONDS}")

    @property
    def policy_path(self) -> Path:
        return self.home / "dataward.yaml"

    @property
    def keyring_path(self) -> Path:
        return self.home / "keyring.json"

    @classmethod
    def load(cls, home: Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings for the installation at `home`, with overrides from `environ`."""
        env = os.environ if environ is None else environ
        root = (home or Path(env.get("DATAWARD_HOME", ".dataward"))).resolve()
        url = env.get("DATAWARD_DATABASE_URL") or f"sqlite:///{root / 'dataward.db'}"
        settings = cls(home=root, database_url=url)
        if issuer := env.get("DATAWARD_ISSUER"):
            settings = replace(settings, issuer=issuer)
        if audience := env.get("DATAWARD_AUDIENCE"):
            settings = replace(settings, audience=audience)
        if ttl := env.get("DATAWARD_TOKEN_TTL"):
            settings = replace(settings, token_ttl_seconds=int(ttl))
        return settings
