"""The key store: each subject's data keys, wrapped, in a database apart from the data.

Crypto-shredding works only if the key dies everywhere the ciphertext lives. Kept beside the data,
a wrapped key would live on in every backup of the data, and the key-encryption key that opens it
is still there. Kept here, destroying it makes every copy of the data unreadable for that subject.

On SQLite the store is a file of its own (`keystore.db`, mode 0600) with `secure_delete` on and a
rollback journal rather than a write-ahead log: a destroyed key's page is overwritten in the file
when the deletion commits, where a WAL would keep the old page in its frames until a checkpoint
that any open reader can hold off. On PostgreSQL, point `DATAWARD_KEYSTORE_URL` at a database that
is backed up apart from the data (by default the store shares the data's database, and its
backups). Keys are few and small and change rarely, so the store's write speed does not matter.

Slots: slot 0 seals the subject's data; slot 1 seals what a legal obligation keeps through an
erasure. Erasure destroys slot 0 (both, when nothing is kept) and re-encrypts nothing; the
retention sweep destroys slot 1 when what it sealed has run out.

Reads keep the wrapped keys they fetched in memory for a minute (bounded): a query to a second
database on every read cost the read path more than half its speed. A key destroyed here leaves
this process's cache at once; another replica may hold its wrapped copy until the minute is out,
which opens nothing: by then the subject already reads as erased (see `dataward.rights.requests`)
and its rows are gone or going. Nothing unwrapped is cached.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum

from sqlalchemy import ColumnElement, Engine, and_, delete, func, insert, or_, select, update

from dataward.keys.envelope import DataKey, generate_data_key
from dataward.keys.errors import KeyringError
from dataward.keys.keyring import Keyring, WrappedKey
from dataward.storage.engine import create_database_engine, create_private_sqlite_file, write_transaction
from dataward.storage.tables import keystore_metadata, subject_keys

__all__ = ["KeySlot", "SubjectKeyStore", "SubjectKeys"]


class KeySlot(IntEnum):
    DATA = 0
    KEPT = 1  # what a legal obligation keeps through an erasure


@dataclass(slots=True)
class SubjectKeys:
    """A subject's wrapped keys, opened only when a value needs one. Keys from the cache are
    fetched again, once, if their key-encryption key was retired meanwhile (`refresh`)."""

    subject_id: str
    wrapped: dict[int, WrappedKey]
    _keyring: Keyring
    _refresh: Callable[[], dict[int, WrappedKey]] | None = None

    def has(self, slot: KeySlot) -> bool:
        return slot in self.wrapped

    def open_key(self, slot: int) -> DataKey | None:
        """The data key in `slot`, or None when it was destroyed (or never made)."""
        wrapped = self.wrapped.get(slot)
        if wrapped is None:
            return None
        try:
            return DataKey(self._keyring.unwrap(wrapped, _context(self.subject_id, slot)))
        except KeyringError:
            if self._refresh is None:
                raise
            self.wrapped, self._refresh = self._refresh(), None  # rewrapped since it was cached
            return self.open_key(slot)


class SubjectKeyStore:
    def __init__(
        self, engine: Engine, keyring: Keyring, *, cache_size: int = 100_000, cache_seconds: float = 60.0
    ) -> None:
        self.engine = engine
        self._keyring = keyring
        self._cache = _WrappedCache(cache_size, cache_seconds)

    @classmethod
    def open(cls, url: str, keyring: Keyring, *, engine: Engine | None = None) -> SubjectKeyStore:
        """The store at `url` (its table made if missing); `engine` reuses the data's engine when
        both live in one database."""
        if engine is None:
            create_private_sqlite_file(url)
            engine = create_database_engine(url, sqlite_journal="DELETE")
        keystore_metadata.create_all(engine)
        return cls(engine, keyring)

    def create(self, subject_id: str, slot: KeySlot, now: datetime) -> DataKey:
        """Make, wrap and store a new key in `slot`; return it ready to seal."""
        self._cache.drop(subject_id)
        key = generate_data_key()
        wrapped = self._keyring.wrap(key, _context(subject_id, slot))
        with write_transaction(self.engine) as connection:
            connection.execute(
                insert(subject_keys).values(
                    subject_id=subject_id, slot=int(slot), kek_id=wrapped.kek_id,
                    wrapped_key=wrapped.blob, created_at=now,
                )
            )  # fmt: skip
        return DataKey(key)

    def keys(self, subject_id: str) -> SubjectKeys:
        wrapped = self._cache.get(subject_id)
        if wrapped is not None:
            return SubjectKeys(subject_id, wrapped, self._keyring, lambda: self._fresh(subject_id))
        return SubjectKeys(subject_id, self._fresh(subject_id), self._keyring)

    def _fresh(self, subject_id: str) -> dict[int, WrappedKey]:
        wrapped = self._fetch(subject_id)
        self._cache.put(subject_id, wrapped)
        return wrapped

    def _fetch(self, subject_id: str) -> dict[int, WrappedKey]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(subject_keys.c.slot, subject_keys.c.kek_id, subject_keys.c.wrapped_key).where(
                    subject_keys.c.subject_id == subject_id
                )
            ).all()
        return {row.slot: WrappedKey(row.kek_id, bytes(row.wrapped_key)) for row in rows}

    def destroy(self, subject_id: str, slots: Iterable[KeySlot] = tuple(KeySlot)) -> int:
        """Destroy the subject's keys in `slots`, durably; return how many there were."""
        self._cache.drop(subject_id)
        with write_transaction(self.engine) as connection:
            gone = connection.execute(
                delete(subject_keys).where(
                    subject_keys.c.subject_id == subject_id,
                    subject_keys.c.slot.in_([int(s) for s in slots]),
                )
            ).rowcount
        return int(gone)

    # -- rotation: rewrap, never re-encrypt ---------------------------------------------------------

    def count_wrapped_under(self, kek_ids: list[str] | None = None, *, exclude: str | None = None) -> int:
        query = select(func.count()).select_from(subject_keys)
        if kek_ids is not None:
            query = query.where(subject_keys.c.kek_id.in_(kek_ids))
        if exclude is not None:
            query = query.where(subject_keys.c.kek_id != exclude)
        with self.engine.connect() as connection:
            return int(connection.execute(query).scalar_one())

    def rewrap(self, *, batch: int = 500, progress: Callable[[int], None] | None = None) -> int:
        """Rewrap every key not yet under the active KEK, online; return how many were rewrapped.

        A row is updated only if it still holds the wrapping read, so a key destroyed meanwhile
        stays destroyed."""
        active = self._keyring.active_kek_id
        done, after = 0, ("", -1)
        while True:
            with self.engine.connect() as connection:
                rows = connection.execute(
                    select(subject_keys)
                    .where(subject_keys.c.kek_id != active, _after(after))
                    .order_by(subject_keys.c.subject_id, subject_keys.c.slot)
                    .limit(batch)
                ).all()
            if not rows:
                return done
            with write_transaction(self.engine) as connection:
                for row in rows:
                    context = _context(row.subject_id, row.slot)
                    key = self._keyring.unwrap(WrappedKey(row.kek_id, bytes(row.wrapped_key)), context)
                    fresh = self._keyring.wrap(key, context)
                    connection.execute(
                        update(subject_keys)
                        .where(
                            subject_keys.c.subject_id == row.subject_id,
                            subject_keys.c.slot == row.slot,
                            subject_keys.c.wrapped_key == row.wrapped_key,
                        )
                        .values(kek_id=fresh.kek_id, wrapped_key=fresh.blob)
                    )
            for row in rows:
                self._cache.drop(row.subject_id)
            done += len(rows)
            after = (rows[-1].subject_id, rows[-1].slot)
            if progress is not None:
                progress(len(rows))


class _WrappedCache:
    """Wrapped keys by subject, for `seconds`, at most `size` of them (oldest out first)."""

    def __init__(self, size: int, seconds: float) -> None:
        self._size, self._seconds = size, seconds
        self._entries: OrderedDict[str, tuple[float, dict[int, WrappedKey]]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, subject_id: str) -> dict[int, WrappedKey] | None:
        with self._lock:
            entry = self._entries.get(subject_id)
            if entry is None or entry[0] < time.monotonic():
                return None
            return entry[1]

    def put(self, subject_id: str, wrapped: dict[int, WrappedKey]) -> None:
        with self._lock:
            self._entries[subject_id] = (time.monotonic() + self._seconds, wrapped)
            self._entries.move_to_end(subject_id)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)

    def drop(self, subject_id: str) -> None:
        with self._lock:
            self._entries.pop(subject_id, None)


def _after(position: tuple[str, int]) -> ColumnElement[bool]:
    subject_id, slot = position
    return or_(
        subject_keys.c.subject_id > subject_id,
        and_(subject_keys.c.subject_id == subject_id, subject_keys.c.slot > slot),
    )


def _context(subject_id: str, slot: int) -> bytes:
    """What a wrapped key is bound to: its subject and slot (a key moved to another row fails)."""
    return f"{subject_id}\x00{slot}".encode()
