"""Storage: the database engine, the tables, and the Alembic migrations that create them."""

from dataward.storage.engine import (
    create_database_engine,
    normalise_url,
    read_connection,
    write_transaction,
)
from dataward.storage.migrate import current_revision, migrate
from dataward.storage.tables import metadata

__all__ = [
    "create_database_engine",
    "current_revision",
    "metadata",
    "migrate",
    "normalise_url",
    "read_connection",
    "write_transaction",
]
