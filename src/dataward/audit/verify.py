"""`dataward audit verify`: walk the chain and name the first entry that was changed, deleted,
reordered or appended behind the log's back.

Three layers catch three kinds of tampering: the hash chain catches an edited, deleted or moved
row; the signed checkpoints catch a chain recomputed from some point on (the forger has no signing
key); the signed head catches rows cut from, or forged onto, the end.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Engine, select

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
    """Walk the whole log; `progress`, if given, hears how many entries each page checked."""
    with engine.connect() as connection:
        checkpoints = {row.seq: row for row in connection.execute(select(audit_checkpoints))}
        head = connection.execute(select(audit_head)).first()
        count, last, bad = 0, None, None
        after = 0
        while bad is None:
            rows = connection.execute(
                select(audit_entries)
                .where(audit_entries.c.seq > after)
                .order_by(audit_entries.c.seq)
                .limit(page)
            ).all()
            if not rows:
                break
            for row in rows:
                entry = AuditEntry.from_row(row)
                bad = _check_entry(entry, last, checkpoints.get(entry.seq), keys)
                if bad is not None:
                    break
                count, last = count + 1, entry
            after = rows[-1].seq
            progress(len(rows))

    def report(problem: str | None = None, seq: int | None = None) -> VerifyReport:
        return VerifyReport(count, len(checkpoints), head.seq if head else 0, problem, seq)

    if bad is not None:
        return report(*bad)
    last_seq = last.seq if last else 0
    for seq in sorted(checkpoints):
        if seq > last_seq:
            return report(f"entries after {last_seq} were deleted (a checkpoint covers {seq})", last_seq + 1)
    if head is None:
        return report("the log has entries but no signed head", 1) if last else report()
    if not signature_holds(keys, head.kid, head.signature, seq=head.seq, entry_hash=head.hash, at=head.at):
        return report("the signed head's signature does not hold", head.seq)
    if head.seq > last_seq:
        return report(f"entries after {last_seq} were deleted (the signed head is {head.seq})", last_seq + 1)
    if head.seq < last_seq:
        return report(f"entry {head.seq + 1} and later are not covered by the signed head", head.seq + 1)
    if last is not None and head.hash != last.hash:
        return report(f"entry {last.seq} does not match the signed head", last.seq)
    return report()


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
        if cp_hash != entry.hash or not signature_holds(keys, kid, sig, seq=seq, entry_hash=cp_hash, at=at):
            return (f"entry {seq} does not match its signed checkpoint: the chain was rewritten", seq)
    return None
