"""Run the Alembic migrations from code (`dataward init` and `dataward serve` both call this)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine

__all__ = ["alembic_config", "current_revision", "migrate"]


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", "dataward.storage:migrations")
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the database up to `revision`."""
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
