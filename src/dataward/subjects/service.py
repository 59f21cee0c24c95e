"""Subjects and their records: create, write, read and look up, with every value sealed under the
subject's own data key and bound to its place.

The service neither decides access nor audits: callers ask the decision point first and record the
audit entry (see `dataward.subjects.routes`). It only guarantees that what it stores is ciphertext
and that what it returns opened with its own associated data.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, delete, insert, select, update

from dataward.clock import Clock
from dataward.errors import InvalidRequest, NotFound, Problem
from dataward.keys import (
    BlindIndex,
    DataKey,
    IntegrityError,
    Keyring,
    WrappedKey,
    field_aad,
    generate_data_key,
)
from dataward.policy import Policy
from dataward.storage.raw import RawStatement
from dataward.storage.tables import blind_indexes, field_values, records, subjects
from dataward.subjects.values import Value, check_value, normalise_for_index

__all__ = ["ReadResult", "SubjectService", "is_subject_id"]

# Built once: the hot read path only binds the subject's id.
_READ = RawStatement(
    select(
        subjects.c.kek_id,
        subjects.c.wrapped_key,
        records.c.id.label("record_id"),
        records.c.collection,
        field_values.c.field,
        field_values.c.ciphertext,
    )
    .select_from(
        subjects.outerjoin(records, records.c.subject_id == subjects.c.id).outerjoin(
            field_values, field_values.c.record_id == records.c.id
        )
    )
    .where(subjects.c.id == bindparam("subject_id"))
)
_KEK_ID, _WRAPPED, _RECORD_ID, _COLLECTION, _FIELD, _CIPHERTEXT = range(6)


# A version 4 UUID in canonical form, as `str(uuid.uuid4())` writes it.
_SUBJECT_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def is_subject_id(text: str) -> bool:
    """True for a subject id in canonical form: a random (version 4) UUID."""
    return _SUBJECT_ID.fullmatch(text) is not None


@dataclass(frozen=True, slots=True)
class ReadResult:
    values: dict[str, Value] = field(default_factory=dict)  # `collection.field` -> value
    integrity_failures: list[str] = field(default_factory=list)

    def nested(self) -> dict[str, dict[str, Value]]:
        out: dict[str, dict[str, Value]] = {}
        for path, value in self.values.items():
            collection, _, name = path.partition(".")
            out.setdefault(collection, {})[name] = value
        return out


class SubjectService:
    def __init__(self, engine: Engine, keyring: Keyring, policy: Policy, clock: Clock) -> None:
        self.engine = engine
        self._keyring = keyring
        self._policy = policy
        self._clock = clock
        self._index = BlindIndex(keyring.blind_index_key())

    def check_region(self, region: str | None) -> str:
        region = region or self._policy.default_region
        if region not in self._policy.regions:
            raise InvalidRequest("unknown region", [Problem("region", f"unknown region {region}")])
        return region

    def create(self, connection: Connection, region: str | None = None) -> str:
        region = self.check_region(region)
        subject_id = str(uuid.uuid4())
        wrapped = self._keyring.wrap(generate_data_key(), subject_id.encode())
        connection.execute(
            insert(subjects).values(
                id=subject_id,
                region=region,
                kek_id=wrapped.kek_id,
                wrapped_key=wrapped.blob,
                created_at=self._clock.now(),
            )
        )
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
        self, connection: Connection, subject_id: str, collection: str, values: Mapping[str, Value]
    ) -> None:
        """Replace the subject's `collection` record with `values` (fields not given are removed)."""
        data_key = DataKey(self._data_key(connection, subject_id))
        now = self._clock.now()
        record_id = connection.execute(
            select(records.c.id).where(records.c.subject_id == subject_id, records.c.collection == collection)
        ).scalar()
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
        connection.execute(
            insert(field_values),
            [
                {
                    "record_id": record_id,
                    "field": name,
                    "ciphertext": data_key.seal(
                        json.dumps(value).encode(),
                        field_aad(subject_id, collection, name, record_id),
                    ),
                    "updated_at": now,
                }
                for name, value in values.items()
            ],
        )
        self._reindex(connection, subject_id, collection, values)

    def read(self, connection: Connection, subject_id: str, paths: Iterable[str]) -> ReadResult:
        """Open the subject's values at `paths`; a value that fails to open is reported, never guessed."""
        rows = _READ.all(connection, {"subject_id": subject_id})
        if not rows:
            raise NotFound("no such subject")
        wanted = set(paths)
        result = ReadResult()
        data_key: DataKey | None = None
        opened: dict[str, bytes] = {}
        for row in rows:
            collection, name = row[_COLLECTION], row[_FIELD]
            path = f"{collection}.{name}"
            if name is None or path not in wanted:
                continue
            try:
                if data_key is None:
                    wrapped = WrappedKey(row[_KEK_ID], bytes(row[_WRAPPED]))
                    data_key = DataKey(self._keyring.unwrap(wrapped, subject_id.encode()))
                aad = field_aad(subject_id, collection, name, row[_RECORD_ID])
                opened[path] = data_key.open_(bytes(row[_CIPHERTEXT]), aad)
            except IntegrityError:
                result.integrity_failures.append(path)
        if opened:  # each value is a JSON document: parse them as one array, in one call
            decoded = json.loads(b"[" + b",".join(opened.values()) + b"]")
            result.values.update(zip(opened, decoded, strict=True))
        return result

    def exists(self, connection: Connection, subject_id: str) -> bool:
        return (
            connection.execute(select(subjects.c.id).where(subjects.c.id == subject_id)).first() is not None
        )

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

    def _data_key(self, connection: Connection, subject_id: str) -> bytes:
        row = connection.execute(
            select(subjects.c.kek_id, subjects.c.wrapped_key).where(subjects.c.id == subject_id)
        ).first()
        if row is None:
            raise NotFound("no such subject")
        return self._keyring.unwrap(WrappedKey(row.kek_id, row.wrapped_key), subject_id.encode())

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
