"""Retention sweeps: a field is erased once no purpose still justifies it (Art. 5(1)(e)).

A value is justified by a purpose while its retention, counted from when the value was written,
runs. It goes when that has run out for every purpose that uses the field (a field that no purpose
uses is justified by none). What an erasure kept for a legal obligation goes when that obligation's
retention runs out. Each field is swept with one statement, so a sweep costs a handful of queries
whatever the number of subjects; blind-index entries go with their values, and an erased subject
with nothing left loses its last key and its row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Engine, and_, delete, distinct, exists, func, or_, select

from dataward.audit import AuditAction, AuditEvent, AuditLog, Outcome
from dataward.clock import Clock
from dataward.keys.subject_keys import KeySlot, SubjectKeyStore
from dataward.policy import Policy
from dataward.storage.engine import read_connection, write_transaction
from dataward.storage.tables import blind_indexes, field_values, records, subjects

__all__ = ["SweepReport", "audited_sweep", "combined", "retention_rules", "sweep"]


@dataclass(frozen=True, slots=True)
class SweepReport:
    at: datetime
    removed: dict[str, int] = field(default_factory=dict)  # `collection.field` -> values removed
    subjects: int = 0  # subjects that lost at least one value
    dry_run: bool = False

    @property
    def total(self) -> int:
        return sum(self.removed.values())

    def as_dict(self) -> dict[str, object]:
        return {
            "at": self.at.isoformat(),
            "dry_run": self.dry_run,
            "removed": self.removed,
            "total": self.total,
            "subjects": self.subjects,
        }


@dataclass(frozen=True, slots=True)
class _Rule:
    """Values of one field, in one key slot, of subjects erased or not, written before `cutoff`."""

    path: str
    slot: KeySlot
    erased: bool | None  # None: whether or not the subject was erased
    cutoff: datetime

    def expired(self) -> ColumnElement[bool]:
        collection, _, name = self.path.partition(".")
        owners = (
            select(records.c.id)
            .join(subjects, subjects.c.id == records.c.subject_id)
            .where(
                records.c.collection == collection,
                subjects.c.restricted_at.is_(None),  # Art. 18(1)(c): kept for the subject's own claims
            )
        )
        if self.erased is not None:
            owners = owners.where(
                subjects.c.erased_at.is_not(None) if self.erased else subjects.c.erased_at.is_(None)
            )
        return and_(
            field_values.c.field == name,
            field_values.c.key_slot == int(self.slot),
            field_values.c.updated_at < self.cutoff,
            field_values.c.record_id.in_(owners),
        )


def retention_rules(policy: Policy, now: datetime) -> list[_Rule]:
    """What each field's values are justified by: every purpose that uses the field; once the
    subject was erased, only the legal obligations that keep what the erasure kept."""
    rules: list[_Rule] = []
    for path in policy.field_paths():
        using = [p for name, p in policy.purposes.items() if path in policy.purpose_fields(name)]
        longest = max((p.retention_period for p in using), default=timedelta(0))
        kept = max((p.retention_period for p in using if p.keeps_after_erasure), default=timedelta(0))
        rules.append(_Rule(path, KeySlot.DATA, None, now - longest))
        rules.append(_Rule(path, KeySlot.KEPT, False, now - longest))
        rules.append(_Rule(path, KeySlot.KEPT, True, now - kept))
    return rules


def audited_sweep(
    engine: Engine, key_store: SubjectKeyStore, policy: Policy, clock: Clock, audit: AuditLog, actor: str
) -> SweepReport:
    """Count what is due, record it in the audit log, then erase it (up to the same moment).
    Not for the event loop's thread: it waits for the audit log."""
    now = clock.now()
    due = sweep(engine, key_store, policy, now, dry_run=True)
    if not due.total:
        return due
    audit.record_sync(
        AuditEvent(
            AuditAction.RETENTION_SWEEP, actor, Outcome.ALLOWED, fields=tuple(sorted(due.removed)),
            reason=f"{due.total} value(s) of {due.subjects} subject(s) past retention",
        )
    )  # fmt: skip
    return sweep(engine, key_store, policy, now)


def combined(reports: list[SweepReport]) -> SweepReport:
    """Several stores' sweeps as one report."""
    removed: dict[str, int] = {}
    for report in reports:
        for path, count in report.removed.items():
            removed[path] = removed.get(path, 0) + count
    return SweepReport(
        at=reports[0].at,
        removed=removed,
        subjects=sum(r.subjects for r in reports),
        dry_run=reports[0].dry_run,
    )


def sweep(
    engine: Engine, key_store: SubjectKeyStore, policy: Policy, now: datetime, *, dry_run: bool = False
) -> SweepReport:
    """Erase every value that no purpose justifies at `now`; with `dry_run`, only count them.

    Set-based, one short transaction per rule, so writers wait for no long lock."""
    rules = retention_rules(policy, now)
    with read_connection(engine) as connection:
        counts = {r: connection.execute(select(func.count()).where(r.expired())).scalar_one() for r in rules}
        due = [r for r in rules if counts[r]]
        any_due = or_(*(r.expired() for r in due)) if due else None
        subjects_due = 0
        if any_due is not None:
            owners = select(field_values.c.record_id).where(any_due)
            subjects_due = connection.execute(
                select(func.count(distinct(records.c.subject_id))).where(records.c.id.in_(owners))
            ).scalar_one()
    removed: dict[str, int] = {}
    for rule in due:
        removed[rule.path] = removed.get(rule.path, 0) + int(counts[rule])
    report = SweepReport(at=now, removed=removed, subjects=int(subjects_due), dry_run=dry_run)
    if dry_run:
        return report
    for rule in due:
        _erase(engine, rule)
    _finish_erased(engine, key_store)
    return report


def _erase(engine: Engine, rule: _Rule) -> None:
    collection = rule.path.partition(".")[0]
    with write_transaction(engine) as connection:
        owners = select(records.c.subject_id).join(field_values).where(rule.expired())
        connection.execute(
            delete(blind_indexes).where(
                blind_indexes.c.field_path == rule.path, blind_indexes.c.subject_id.in_(owners)
            )
        )
        connection.execute(delete(field_values).where(rule.expired()))
        # a collection is written whole, so its record is as old as its values
        empty = ~exists().where(field_values.c.record_id == records.c.id)
        connection.execute(
            delete(records).where(
                records.c.collection == collection, records.c.updated_at < rule.cutoff, empty
            )
        )


def _finish_erased(engine: Engine, key_store: SubjectKeyStore) -> None:
    """Erased subjects with nothing left lose their last key (first) and their row."""
    has_records = exists().where(records.c.subject_id == subjects.c.id)
    with write_transaction(engine) as connection:
        finished = list(
            connection.execute(
                select(subjects.c.id).where(subjects.c.erased_at.is_not(None), ~has_records)
            ).scalars()
        )
        for subject_id in finished:
            key_store.destroy(subject_id)
            connection.execute(delete(subjects).where(subjects.c.id == subject_id))
