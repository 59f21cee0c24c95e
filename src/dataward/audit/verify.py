"""`dataward audit verify`: walk the chain and name the first entry that was changed, deleted,
reordered or appended behind the log's back.

Three layers catch three kinds of tampering: the hash chain catches an edited, deleted or moved
row; the signed checkpoints catch a chain recomputed from some point on (the forger has no signing
key); the signed head catches rows cut from, or forged onto, the end.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Connection, Engine, select

from dataward.audit.events import GENESIS, AuditEntry
from dataward.audit.signing import signature_holds
from dataward.storage.tables import audit_checkpoints, audit_entries, audit_head

__all__ = ["VerifyReport", "verify_log"]


@dataclass(frozen=True, slots=True)
class VerifyReport:
    entries: int
    checkpoints: int
    head_seq: int
    problem: str | None = None
    first_bad_seq: int | None = None

    @property
    def intact(self) -> bool:
        return self.problem is None


def verify_log(  # noqa: PLR0911 - one return per kind of tampering reads best
    engine: Engine,
    keys: dict[str, Ed25519PublicKey],
    page: int = 5000,
    progress: Callable[[int], None] = lambda _checked: None,
) -> VerifyReport:
    """Walk the whole log; `progress`, if given, hears how many entries each page checked.

    The vault may go on writing while this runs. The head is read only after the walk, so every
    entry walked was there before it; entries the head covers that came later are then walked too.
    """
    with engine.connect() as connection:
        checkpoints = {row.seq: row for row in connection.execute(select(audit_checkpoints))}
        walk = _Walk(connection, checkpoints, keys, page, progress)
        walk.to(None)
        head = connection.execute(select(audit_head)).first()
        if walk.bad is None and head is not None and head.seq > walk.last_seq:
            walk.to(head.seq)  # appended during the walk, or cut from the end: the walk tells

    def report(problem: str | None = None, seq: int | None = None) -> VerifyReport:
        return VerifyReport(walk.count, len(checkpoints), head.seq if head else 0, problem, seq)

    if walk.bad is not None:
        return report(*walk.bad)
    last_seq, last = walk.last_seq, walk.last
    for seq in sorted(checkpoints):
        if seq > last_seq:
            return report(f"entries after {last_seq} were deleted (a checkpoint covers {seq})", last_seq + 1)
    if head is None:
        return report("the log has entries but no signed head", 1) if last else report()
    if not signature_holds(
        keys, "head", head.kid, head.signature, seq=head.seq, entry_hash=head.hash, at=head.at
    ):
        return report("the signed head's signature does not hold", head.seq)
    if head.seq > last_seq:
        return report(f"entries after {last_seq} were deleted (the signed head is {head.seq})", last_seq + 1)
    if head.seq < last_seq:
        return report(f"entry {head.seq + 1} and later are not covered by the signed head", head.seq + 1)
    if last is not None and head.hash != last.hash:
        return report(f"entry {last.seq} does not match the signed head", last.seq)
    return report()


class _Walk:
    """The chain checked so far: how far it got, and the first problem it met."""

    def __init__(
        self,
        connection: Connection,
        checkpoints: dict[int, Any],
        keys: dict[str, Ed25519PublicKey],
        page: int,
        progress: Callable[[int], None],
    ) -> None:
        self._connection, self._checkpoints, self._keys = connection, checkpoints, keys
        self._page, self._progress = page, progress
        self.count = 0
        self.last: AuditEntry | None = None
        self.bad: tuple[str, int] | None = None

    @property
    def last_seq(self) -> int:
        return self.last.seq if self.last else 0

    def to(self, upto: int | None) -> None:
        """Check entries after the last one walked, up to `upto` (or the end), a page at a time."""
        while self.bad is None:
            query = select(audit_entries).where(audit_entries.c.seq > self.last_seq)
            if upto is not None:
                query = query.where(audit_entries.c.seq <= upto)
            rows = self._connection.execute(query.order_by(audit_entries.c.seq).limit(self._page)).all()
            if not rows:
                return
            for row in rows:
                entry = AuditEntry.from_row(row)
                self.bad = _check_entry(entry, self.last, self._checkpoints.get(entry.seq), self._keys)
                if self.bad is not None:
                    break
                self.count, self.last = self.count + 1, entry
            self._progress(len(rows))


def _check_entry(
    entry: AuditEntry,
    previous: AuditEntry | None,
    checkpoint: object | None,
    keys: dict[str, Ed25519PublicKey],
) -> tuple[str, int] | None:
    expected_seq = previous.seq + 1 if previous else 1
    expected_prev = previous.hash if previous else GENESIS
    seq = entry.seq
    if seq != expected_seq:
        return (f"entry {expected_seq} is missing: {expected_seq - 1} is followed by {seq}", expected_seq)
    if entry.prev_hash != expected_prev:
        return (f"entry {seq} does not follow entry {seq - 1}: deleted, moved or reordered", seq)
    if entry.expected_hash() != entry.hash:
        return (f"entry {seq} was changed: its content does not match its hash", seq)
    if checkpoint is not None:
        cp_hash, kid, sig, at = (getattr(checkpoint, k) for k in ("hash", "kid", "signature", "at"))
        if cp_hash != entry.hash or not signature_holds(
            keys, "checkpoint", kid, sig, seq=seq, entry_hash=cp_hash, at=at
        ):
            return (f"entry {seq} does not match its signed checkpoint: the chain was rewritten", seq)
    return None
