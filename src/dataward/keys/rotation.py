"""Rewrap every subject's data key under the active key-encryption key, online.

Only the small wrapped keys change; no field is re-encrypted. Each row is updated only if it still
holds the wrapping we read, so a concurrent writer (or erasure) is never overwritten.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine, func, select, update

from dataward.keys.keyring import Keyring, WrappedKey
from dataward.storage.engine import write_transaction
from dataward.storage.tables import subjects

__all__ = ["count_wrapped_under", "rewrap_data_keys"]


def count_wrapped_under(
    engine: Engine, kek_ids: list[str] | None = None, *, exclude: str | None = None
) -> int:
    query = select(func.count()).select_from(subjects)
    if kek_ids is not None:
        query = query.where(subjects.c.kek_id.in_(kek_ids))
    if exclude is not None:
        query = query.where(subjects.c.kek_id != exclude)
    with engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


def rewrap_data_keys(
    engine: Engine, keyring: Keyring, *, batch: int = 500, progress: Callable[[int], None] | None = None
) -> int:
    """Rewrap every data key not yet under the active KEK; return how many were rewrapped."""
    active = keyring.active_kek_id
    done = 0
    after = ""
    while True:
        with engine.connect() as connection:
            rows = connection.execute(
                select(subjects.c.id, subjects.c.kek_id, subjects.c.wrapped_key)
                .where(subjects.c.kek_id != active, subjects.c.id > after)
                .order_by(subjects.c.id)
                .limit(batch)
            ).all()
        if not rows:
            return done
        with write_transaction(engine) as connection:
            for row in rows:
                context = row.id.encode()
                data_key = keyring.unwrap(WrappedKey(row.kek_id, row.wrapped_key), context)
                fresh = keyring.wrap(data_key, context)
                connection.execute(
                    update(subjects)
                    .where(subjects.c.id == row.id, subjects.c.wrapped_key == row.wrapped_key)
                    .values(kek_id=fresh.kek_id, wrapped_key=fresh.blob)
                )
        done += len(rows)
        after = rows[-1].id
        if progress is not None:
            progress(len(rows))
