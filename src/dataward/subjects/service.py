"""Subjects and their records: create, write, read, look up, restrict and erase, with every value
sealed under one of the subject's own keys and bound to its place.

The service neither decides access nor audits: callers ask the decision point first and record the
audit entry (see `dataward.subjects.routes`). It only guarantees that what it stores is ciphertext,
that what it returns opened with its own associated data, and that an erased subject's data key is
gone before its rows are (see `dataward.keys.subject_keys`).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from sqlalchemy import Connection, Engine, and_, bindparam, delete, exists, insert, or_, select, update

from dataward.clock import Clock
from dataward.errors import Conflict, InvalidRequest, NotFound, Problem
from dataward.keys import BlindIndex, DataKey, IntegrityError, Keyring, field_aad
from dataward.keys.subject_keys import KeySlot, SubjectKeys, SubjectKeyStore
from dataward.policy import Policy
from dataward.storage.raw import RawStatement
from dataward.storage.tables import (
    blind_indexes,
    consent_events,
    field_values,
    objections,
    records,
    subject_challenges,
    subjects,
)
from dataward.subjects.results import Erasure, ReadResult, SubjectState
from dataward.subjects.values import Value, check_value, normalise_for_index

__all__ = ["Erasure", "ReadResult", "SubjectService", "SubjectState", "is_subject_id"]

# Built once: the hot read path only binds the subject's id.
# The subject's state rides along on every row, so a read under a purpose is one query.
_READ = RawStatement(
    select(
        records.c.id.label("record_id"),
        records.c.collection,
        field_values.c.field,
        field_values.c.ciphertext,
        field_values.c.key_slot,
        subjects.c.restricted_at,
        subjects.c.erased_at,
        exists()
        .where(objections.c.subject_id == subjects.c.id, objections.c.purpose == bindparam("purpose"))
        .label("objected"),
    )
    .select_from(
        subjects.outerjoin(records, records.c.subject_id == subjects.c.id).outerjoin(
            field_values, field_values.c.record_id == records.c.id
        )
    )
    .where(subjects.c.id == bindparam("subject_id"))
    .order_by(records.c.created_at, records.c.id)
)
_RECORD_ID, _COLLECTION, _FIELD, _CIPHERTEXT, _SLOT, _RESTRICTED, _ERASED, _OBJECTED = range(8)
_STATE = RawStatement(
    select(
        subjects.c.restricted_at,
        subjects.c.erased_at,
        exists()
        .where(objections.c.subject_id == subjects.c.id, objections.c.purpose == bindparam("purpose"))
        .label("objected"),
    ).where(subjects.c.id == bindparam("subject_id"))
)


# A version 4 UUID in canonical form, as `str(uuid.uuid4())` writes it.
_SUBJECT_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def is_subject_id(text: str) -> bool:
    """True for a subject id in canonical form: a random (version 4) UUID."""
    return _SUBJECT_ID.fullmatch(text) is not None


class _Allows(Protocol):
    @property
    def allowed(self) -> frozenset[str]: ...


_D = TypeVar("_D", bound=_Allows)


@dataclass(frozen=True, slots=True)
class _Paths:
    allowed: frozenset[str]


class SubjectService:
    def __init__(
        self, engine: Engine, key_store: SubjectKeyStore, keyring: Keyring, policy: Policy, clock: Clock
    ) -> None:
        self.engine = engine
        self._keys = key_store
        self._policy = policy
        self._clock = clock
        self._index = BlindIndex(keyring.blind_index_key())
        self._many = frozenset(name for name, c in policy.collections.items() if c.multiple)
        # Fields a legal obligation keeps through an erasure: sealed under their own key (slot 1).
        self._kept_paths = frozenset(
            path
            for name, purpose in policy.purposes.items()
            if purpose.keeps_after_erasure
            for path in policy.purpose_fields(name)
        )

    def check_region(self, region: str | None) -> str:
        region = region or self._policy.default_region
        if region not in self._policy.regions:
            raise InvalidRequest("unknown region", [Problem("region", f"unknown region {region}")])
        return region

    def create(self, connection: Connection, region: str | None = None, subject_id: str | None = None) -> str:
        """A new subject in this store, with its data key; `subject_id` when the caller chose it
        (to pin it to its region first), else a new random one."""
        region = self.check_region(region)
        subject_id = subject_id or str(uuid.uuid4())
        now = self._clock.now()
        self._keys.create(subject_id, KeySlot.DATA, now)  # the key first: no subject without one
        connection.execute(insert(subjects).values(id=subject_id, region=region, created_at=now))
        return subject_id

    def check_collection(self, collection: str, body: Mapping[str, Any]) -> dict[str, Value]:
        """The body's values in stored form; `InvalidRequest` naming every field that is wrong."""
        coll = self._policy.collections.get(collection)
        if coll is None:
            raise NotFound(f"unknown collection {collection}")
        problems: list[Problem] = []
        values: dict[str, Value] = {}
        for name, raw in body.items():
            spec = coll.fields.get(name)
            if spec is None:
                problems.append(Problem(name, f"unknown field {collection}.{name}"))
                continue
            checked = check_value(spec, raw, name)
            if isinstance(checked, Problem):
                problems.append(checked)
            else:
                values[name] = checked
        if not body:
            problems.append(Problem("", "the body names no fields"))
        if problems:
            raise InvalidRequest(f"the {collection} record is not valid", problems)
        return values

    def write(
        self,
        connection: Connection,
        subject_id: str,
        collection: str,
        values: Mapping[str, Value],
        record_id: str | None = None,
    ) -> str:
        """Replace the subject's `collection` record with `values` (fields not given are removed);
        return its id. In a collection with many records, `record_id` names the record to replace,
        and None adds one."""
        row = connection.execute(  # locked: a write never overtakes an erasure (PostgreSQL)
            select(subjects.c.erased_at).where(subjects.c.id == subject_id).with_for_update()
        ).first()
        if row is None:
            raise NotFound("no such subject")
        keys = self._keys.keys(subject_id)
        data_key = keys.open_key(KeySlot.DATA)
        if row.erased_at is not None or data_key is None:
            raise Conflict("the subject's data was erased; create a new subject")
        now = self._clock.now()
        sealing = {KeySlot.DATA: data_key}
        if any(f"{collection}.{name}" in self._kept_paths for name in values):
            kept = keys.open_key(KeySlot.KEPT)
            sealing[KeySlot.KEPT] = kept or self._keys.create(subject_id, KeySlot.KEPT, now)
        record_id = self._record(connection, subject_id, collection, record_id)
        if record_id is None:
            record_id = str(uuid.uuid4())
            connection.execute(
                insert(records).values(
                    id=record_id, subject_id=subject_id, collection=collection, created_at=now, updated_at=now
                )
            )
        else:
            connection.execute(update(records).where(records.c.id == record_id).values(updated_at=now))
            connection.execute(delete(field_values).where(field_values.c.record_id == record_id))
        rows = []
        for name, value in values.items():
            slot = KeySlot.KEPT if f"{collection}.{name}" in self._kept_paths else KeySlot.DATA
            key = sealing[slot]
            aad = field_aad(subject_id, collection, name, record_id)
            rows.append(
                {
                    "record_id": record_id,
                    "field": name,
                    "ciphertext": key.seal(json.dumps(value).encode(), aad),
                    "updated_at": now,
                    "key_slot": int(slot),
                }
            )
        connection.execute(insert(field_values), rows)
        self._reindex(connection, subject_id, collection, values)
        return record_id

    def update(
        self,
        connection: Connection,
        subject_id: str,
        collection: str,
        changes: Mapping[str, Value],
        record_id: str | None = None,
    ) -> str:
        """Change only the fields in `changes` of one record (a rectification); the others stay.
        The subject is locked before its values are read, so two updates never lose each other's."""
        locked = select(subjects.c.id).where(subjects.c.id == subject_id).with_for_update()
        if connection.execute(locked).first() is None:
            raise NotFound("no such subject")
        paths = [f"{collection}.{name}" for name in self._policy.collections[collection].fields]
        result = self.read(connection, subject_id, paths)
        current = (
            result.many.get(collection, {}).get(record_id, {}) if record_id else result.values_of(collection)
        )
        if record_id is not None and not current:
            raise NotFound("no such record")
        return self.write(connection, subject_id, collection, {**current, **changes}, record_id)

    def _record(
        self, connection: Connection, subject_id: str, collection: str, record_id: str | None
    ) -> str | None:
        """The record a write replaces, or None for a new one."""
        mine = select(records.c.id).where(
            records.c.subject_id == subject_id, records.c.collection == collection
        )
        if not self._policy.collections[collection].multiple:
            return connection.execute(mine).scalar()
        if record_id is None:
            return None
        if connection.execute(mine.where(records.c.id == record_id)).scalar() is None:
            raise NotFound("no such record")  # another subject's record is not found either
        return record_id

    def read(self, connection: Connection, subject_id: str, paths: Iterable[str]) -> ReadResult:
        """Open the subject's values at `paths`; a value that fails to open is reported, never guessed.
        A value whose key was destroyed (an erasure under way) is gone, not a failure."""
        wanted = _Paths(frozenset(paths))
        return self.read_deciding(connection, subject_id, None, lambda _state: wanted)[1]

    def read_deciding(
        self,
        connection: Connection,
        subject_id: str,
        purpose: str | None,
        decide: Callable[[SubjectState], _D],
    ) -> tuple[_D, ReadResult]:
        """Read the subject's state (objection to `purpose` included) and values in one query, and
        open only the paths that `decide` allows in that state: state and values from one snapshot.
        Returns the decision with what it allowed."""
        rows = _READ.all(connection, {"subject_id": subject_id, "purpose": purpose or ""})
        if not rows:
            raise NotFound("no such subject")
        first = rows[0]
        state = SubjectState(
            first[_RESTRICTED] is not None, first[_ERASED] is not None, bool(first[_OBJECTED])
        )
        decision = decide(state)
        wanted = decision.allowed
        result = ReadResult()
        keys: SubjectKeys | None = None
        opening: dict[int, DataKey | None] = {}
        opened: dict[str | tuple[str, str, str], bytes] = {}
        for row in rows:
            collection, name = row[_COLLECTION], row[_FIELD]
            path = f"{collection}.{name}"
            if name is None or path not in wanted:
                continue
            try:
                slot = row[_SLOT]
                if slot not in opening:
                    keys = keys or self._keys.keys(subject_id)
                    opening[slot] = keys.open_key(slot)
                key = opening[slot]
                if key is None:
                    continue
                record_id = row[_RECORD_ID]
                aad = field_aad(subject_id, collection, name, record_id)
                target = (collection, record_id, name) if collection in self._many else path
                opened[target] = key.open_(bytes(row[_CIPHERTEXT]), aad)
            except IntegrityError:
                result.integrity_failures.append(path)
        if opened:  # each value is a JSON document: parse them as one array, in one call
            decoded = json.loads(b"[" + b",".join(opened.values()) + b"]")
            for target, value in zip(opened, decoded, strict=True):
                if isinstance(target, str):
                    result.values[target] = value
                else:
                    collection, record_id, name = target
                    result.many.setdefault(collection, {}).setdefault(record_id, {})[name] = value
        return decision, result

    def exists(self, connection: Connection, subject_id: str) -> bool:
        return (
            connection.execute(select(subjects.c.id).where(subjects.c.id == subject_id)).first() is not None
        )

    def state(self, connection: Connection, subject_id: str, purpose: str | None = None) -> SubjectState:
        """The subject's restriction, erasure and objection (to `purpose`); `NotFound` if unknown."""
        rows = _STATE.all(connection, {"subject_id": subject_id, "purpose": purpose or ""})
        if not rows:
            raise NotFound("no such subject")
        restricted_at, erased_at, objected = rows[0]
        return SubjectState(restricted_at is not None, erased_at is not None, bool(objected))

    def held(self, connection: Connection, subject_id: str) -> list[str]:
        """The `collection.field` paths the subject has values for (names only, nothing opened)."""
        rows = connection.execute(
            select(records.c.collection, field_values.c.field)
            .join(field_values, field_values.c.record_id == records.c.id)
            .where(records.c.subject_id == subject_id)
        )
        return sorted({f"{r.collection}.{r.field}" for r in rows})

    def restrict(self, connection: Connection, subject_id: str, *, restricted: bool) -> None:
        """Art. 18: mark the subject's data as restricted (kept, used only for legal claims), or lift it."""
        at = self._clock.now() if restricted else None
        if not connection.execute(
            update(subjects).where(subjects.c.id == subject_id).values(restricted_at=at)
        ).rowcount:
            raise NotFound("no such subject")

    def object_to(
        self, connection: Connection, subject_id: str, purpose: str, rights_request_id: str | None = None
    ) -> None:
        """Art. 21: the subject objects to `purpose`; reads for it withhold everything from now on."""
        if not self.exists(connection, subject_id):
            raise NotFound("no such subject")
        gone = delete(objections).where(
            objections.c.subject_id == subject_id, objections.c.purpose == purpose
        )
        connection.execute(gone)
        connection.execute(
            insert(objections).values(
                subject_id=subject_id, purpose=purpose, at=self._clock.now(),
                rights_request_id=rights_request_id,
            )
        )  # fmt: skip

    def mark_erased(self, connection: Connection, subject_id: str) -> None:
        """From now on the subject reads as erased (see `erase`), before anything is destroyed."""
        marked = update(subjects).where(subjects.c.id == subject_id, subjects.c.erased_at.is_(None))
        connection.execute(marked.values(erased_at=self._clock.now()))

    def erase(self, connection: Connection, subject_id: str) -> Erasure:
        """Art. 17: destroy the subject's data key first (every copy of the data, backups included,
        becomes unreadable), then remove the rows and blind-index entries. What a legal obligation
        keeps stays, under its own key, restricted to that obligation's purposes.

        Safe to repeat: an erasure cut short by a crash finishes on the next call."""
        locked = select(subjects.c.id).where(subjects.c.id == subject_id).with_for_update()
        if connection.execute(locked).first() is None:
            raise NotFound("no such subject")
        held = self.held(connection, subject_id)
        kept_rows = connection.execute(
            select(records.c.collection, field_values.c.field)
            .join(field_values, field_values.c.record_id == records.c.id)
            .where(records.c.subject_id == subject_id, field_values.c.key_slot == int(KeySlot.KEPT))
        )
        # what the *current* policy keeps: a field no obligation keeps any more goes too
        kept = sorted({f"{r.collection}.{r.field}" for r in kept_rows} & self._kept_paths)
        self._keys.destroy(subject_id, [KeySlot.DATA] if kept else list(KeySlot))
        owned = select(records.c.id).where(records.c.subject_id == subject_id).scalar_subquery()
        if kept:
            keeps = or_(
                *(
                    and_(
                        field_values.c.field == name,
                        exists().where(
                            records.c.id == field_values.c.record_id, records.c.collection == collection
                        ),
                    )
                    for collection, _, name in (path.partition(".") for path in kept)
                )
            )
            still_kept = and_(field_values.c.key_slot == int(KeySlot.KEPT), keeps)
            connection.execute(delete(field_values).where(field_values.c.record_id.in_(owned), ~still_kept))
            emptied = ~exists().where(field_values.c.record_id == records.c.id)
            connection.execute(delete(records).where(records.c.subject_id == subject_id, emptied))
            for table in (blind_indexes, consent_events, objections, subject_challenges):
                connection.execute(delete(table).where(table.c.subject_id == subject_id))
            self.mark_erased(connection, subject_id)
        else:  # nothing stays: the subject row goes, and every row that hangs from it
            connection.execute(delete(field_values).where(field_values.c.record_id.in_(owned)))
            connection.execute(delete(subjects).where(subjects.c.id == subject_id))
        kept_for = sorted(
            name
            for name, purpose in self._policy.purposes.items()
            if purpose.keeps_after_erasure and self._policy.purpose_fields(name) & set(kept)
        )
        return Erasure(removed=[p for p in held if p not in kept], kept=kept, kept_for=kept_for)

    def lookup(self, connection: Connection, path: str, raw: Any) -> list[str]:
        """Subjects whose searchable field `path` equals `raw` after the field type's normalisation."""
        spec = self._policy.field(path)
        if spec is None or not spec.searchable:
            raise InvalidRequest(
                "cannot look up by that field", [Problem("field", f"{path} is not a searchable field")]
            )
        checked = check_value(spec, raw, "value")
        if isinstance(checked, Problem):
            raise InvalidRequest("the lookup value is not valid", [checked])
        digest = self._index.digest(path, normalise_for_index(spec, checked))
        rows = connection.execute(
            select(blind_indexes.c.subject_id).where(
                blind_indexes.c.field_path == path, blind_indexes.c.digest == digest
            )
        )
        return sorted(r.subject_id for r in rows)

    def _reindex(
        self, connection: Connection, subject_id: str, collection: str, values: Mapping[str, Value]
    ) -> None:
        coll = self._policy.collections[collection]
        for name, spec in coll.fields.items():
            if not spec.searchable:
                continue
            path = f"{collection}.{name}"
            connection.execute(
                delete(blind_indexes).where(
                    blind_indexes.c.subject_id == subject_id, blind_indexes.c.field_path == path
                )
            )
            if name in values:
                digest = self._index.digest(path, normalise_for_index(spec, values[name]))
                connection.execute(
                    insert(blind_indexes).values(field_path=path, digest=digest, subject_id=subject_id)
                )
