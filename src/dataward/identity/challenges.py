"""One-time codes by which a data subject proves they hold a contact the vault has for them.

`start` finds the subject through a searchable e-mail or phone field (its blind index), stores a
keyed HMAC of a random code bound to the challenge's id (never the code), and sends the code to the
contact the vault holds (never to what was typed, which only has to match it). When no single
live subject matches,
or the subject already has too many recent challenges, `start` answers exactly as it does for a
match, with a random id that is not stored and nothing sent: the answer never tells who is in the
vault. `verify` compares in constant time; every failure counts an attempt; past the limit, past the
expiry or once used, a challenge is dead; and every failure raises one `SubjectNotVerified`.

The code key is derived from the keyring's blind-index key under a label of its own (HKDF), so a
code's hash and a blind-index digest can never be confused, and the keyring needs no new key.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Connection, delete, func, insert, select, update

from dataward.clock import Clock, as_utc
from dataward.errors import InvalidRequest, Problem
from dataward.identity.errors import NotificationFailed, SubjectNotVerified
from dataward.identity.notifiers import Channel, Notifier, Recipient
from dataward.keys import Keyring
from dataward.policy import FieldType, Policy
from dataward.storage.tables import subject_challenges, subjects
from dataward.subjects.regions import Regions, RegionStore
from dataward.subjects.service import SubjectService, is_subject_id
from dataward.subjects.values import check_value

__all__ = ["CODE_DIGITS", "ChallengeStarted", "SubjectChallenges", "challenge_key", "match_subject"]

log = structlog.get_logger(__name__)

CODE_DIGITS = 8
MAX_RECENT_CHALLENGES = 3  # per subject and challenge lifetime: bounds guesses and unwanted mail
_CHANNELS: dict[FieldType, Channel] = {FieldType.EMAIL: "email", FieldType.PHONE: "phone"}
_KEY_LABEL = b"dataward subject challenge code v1"


def challenge_key(keyring: Keyring) -> bytes:
    """The key of the codes' HMACs: derived from the blind-index key, under a label of its own."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_KEY_LABEL)
    return hkdf.derive(keyring.blind_index_key())


@dataclass(frozen=True, slots=True)
class Match:
    subject_id: str
    contact: str  # the value as the vault holds it: codes go there, never to what was typed


def match_subject(
    subjects_: SubjectService, connection: Connection, path: str, value: object
) -> Match | None:
    """The one subject, not erased, whose searchable field `path` holds `value`; None when there
    is none or more than one. `InvalidRequest` for a field that is not searchable or a bad value.

    The blind index finds candidates by a normalised form; the stored value must then equal the
    given one but for ASCII-style case. Unicode case folding would let `straße.de` (somebody
    else's domain) match `strasse.de`, and a code sent to the typed address would take the account."""
    ids = subjects_.lookup(connection, path, value)
    if len(ids) != 1 or not isinstance(value, str):
        return None
    row = connection.execute(select(subjects.c.erased_at).where(subjects.c.id == ids[0])).first()
    if row is None or row.erased_at is not None:
        return None
    stored = subjects_.read(connection, ids[0], [path]).values.get(path)
    if not isinstance(stored, str) or stored.lower() != _as_stored(subjects_, path, value).lower():
        return None
    return Match(ids[0], stored)


def match_anywhere(
    regions: Regions, central: Connection, path: str, value: object
) -> tuple[RegionStore, Match] | None:
    """`match_subject` in every region: the one subject, in whichever region, or None."""
    found: list[tuple[RegionStore, Match]] = []
    for store in regions.all():
        with regions.reading(store, central) as connection:
            match = match_subject(store.subjects, connection, path, value)
        if match is not None:
            found.append((store, match))
    return found[0] if len(found) == 1 else None


def _as_stored(subjects_: SubjectService, path: str, value: str) -> str:
    """`value` in the form the vault stores (a phone number in E.164, say)."""
    collection, _, name = path.partition(".")
    stored = subjects_.check_collection(collection, {name: value})[name]
    return stored if isinstance(stored, str) else value


@dataclass(frozen=True, slots=True)
class ChallengeStarted:
    """What `start` did. Only `challenge_id` and `expires_in` may be shown to the caller; the rest
    is for the audit log."""

    challenge_id: str
    expires_in: int
    subject_id: str | None  # None: nothing matched (or the subject had too many challenges)
    note: str  # why, for the audit log: never the value or the code


class SubjectChallenges:
    def __init__(
        self,
        regions: Regions,
        keyring: Keyring,
        policy: Policy,
        notifier: Notifier,
        clock: Clock,
        *,
        ttl_seconds: int = 600,
        max_attempts: int = 5,
    ) -> None:
        self._regions = regions
        self._policy = policy
        self._notifier = notifier
        self._clock = clock
        self._key = challenge_key(keyring)
        self.ttl_seconds = ttl_seconds
        self.max_attempts = max_attempts

    def channel(self, path: str) -> Channel:
        """How a code reaches the holder of field `path`; `InvalidRequest` unless it is a searchable
        e-mail or phone field."""
        spec = self._policy.field(path)
        channel = _CHANNELS.get(spec.type) if spec is not None and spec.searchable else None
        if channel is None:
            problem = Problem("field", f"{path} is not a searchable e-mail or phone field")
            raise InvalidRequest("a code cannot be sent through that field", [problem])
        return channel

    def start(self, central: Connection, field_path: str, value: object) -> ChallengeStarted:
        """Begin a challenge for the subject whose `field_path` is `value`, in whichever region;
        `central` is a write transaction on the vault's own database. The challenge lives with its
        subject, in its region's database.

        The answer has the same shape whether anyone matched or not. `InvalidRequest` only for what
        the request itself gets wrong (a field that cannot carry a code, a malformed value)."""
        channel = self.channel(field_path)
        spec = self._policy.field(field_path)
        checked = check_value(spec, value, "value") if spec is not None else None
        found = match_anywhere(self._regions, central, field_path, value)
        store, match = found if found else (self._regions.default, None)
        with self._regions.writing(store, central) as connection:
            return self._start(connection, channel, checked, match)

    def _start(
        self, connection: Connection, channel: Channel, checked: object, match: Match | None
    ) -> ChallengeStarted:
        subject_id = match.subject_id if match else None
        # Much the same work on every path (a code, its HMAC, a fresh id, the same queries), so the
        # time taken says little about a match; sending happens elsewhere (see QueuedNotifier).
        challenge_id, code = str(uuid.uuid4()), _new_code()
        code_hash = self._digest(challenge_id, code)
        now = self._clock.now()
        window = now - timedelta(seconds=self.ttl_seconds)
        if subject_id is not None:  # one start at a time per subject, so the cap below holds (PostgreSQL)
            connection.execute(select(subjects.c.id).where(subjects.c.id == subject_id).with_for_update())
        owned = subject_challenges.c.subject_id == (subject_id or challenge_id)
        connection.execute(delete(subject_challenges).where(owned, subject_challenges.c.created_at <= window))
        recent = select(func.count()).select_from(subject_challenges).where(owned)
        too_many = (connection.execute(recent).scalar() or 0) >= MAX_RECENT_CHALLENGES
        if match is None or not isinstance(checked, str):
            return ChallengeStarted(challenge_id, self.ttl_seconds, None, "no single subject matches")
        if too_many:
            return ChallengeStarted(challenge_id, self.ttl_seconds, subject_id, "too many recent challenges")
        connection.execute(
            insert(subject_challenges).values(
                id=challenge_id,
                subject_id=subject_id,
                code_hash=code_hash,
                created_at=now,
                expires_at=now + timedelta(seconds=self.ttl_seconds),
                attempts=0,
            )
        )
        try:
            self._notifier.send(Recipient(channel, match.contact), code, self.ttl_seconds)
        except NotificationFailed as exc:
            # Not raised: an error only a match can cause would tell who is in the vault.
            log.warning("challenge.not_sent", challenge_id=challenge_id, error=exc.detail)
            return ChallengeStarted(challenge_id, self.ttl_seconds, subject_id, "the code could not be sent")
        return ChallengeStarted(challenge_id, self.ttl_seconds, subject_id, "code sent")

    def verify(self, central: Connection, challenge_id: str, code: str) -> str:
        """The subject id, if `code` answers the live challenge `challenge_id`; it is then used up.

        Raises `SubjectNotVerified` for every failure. A wrong code counts an attempt: in another
        region's database it is committed here; on `central` (the default region), commit it even
        when this raises, or the attempt is not counted."""
        code_hash = self._digest(challenge_id, code)  # before any branch: the same work for all
        if not is_subject_id(challenge_id):  # our ids are random UUIDs: anything else names nothing
            raise SubjectNotVerified("unknown challenge")
        for store in self._regions.all():
            failure: SubjectNotVerified | None = None
            with self._regions.writing(store, central) as connection:
                row = connection.execute(
                    select(subject_challenges)
                    .where(subject_challenges.c.id == challenge_id)
                    .with_for_update()
                ).first()
                if row is None:
                    continue
                try:
                    return self._answer(connection, row, code_hash)
                except SubjectNotVerified as exc:
                    failure = exc  # leave the block normally: the attempt it counted commits
            if failure is not None:
                raise failure
        raise SubjectNotVerified("unknown challenge")

    def _answer(self, connection: Connection, row: Any, code_hash: bytes) -> str:
        challenge_id: str = row.id
        subject_id: str = row.subject_id
        now = self._clock.now()
        if row.used_at is not None:
            raise SubjectNotVerified("the code was used already", subject_id)
        if as_utc(row.expires_at) <= now:
            raise SubjectNotVerified("the code has expired", subject_id)
        if row.attempts >= self.max_attempts:
            raise SubjectNotVerified("too many attempts", subject_id)
        erased = connection.execute(select(subjects.c.erased_at).where(subjects.c.id == subject_id)).scalar()
        if erased is not None:
            raise SubjectNotVerified("the subject is erased", subject_id)
        if not hmac.compare_digest(code_hash, bytes(row.code_hash)):
            connection.execute(
                update(subject_challenges)
                .where(subject_challenges.c.id == challenge_id)
                .values(attempts=subject_challenges.c.attempts + 1)
            )
            raise SubjectNotVerified("wrong code", subject_id)
        # Used up, with every other live challenge of the subject: one proof, one token.
        connection.execute(
            update(subject_challenges)
            .where(subject_challenges.c.subject_id == subject_id, subject_challenges.c.used_at.is_(None))
            .values(used_at=now)
        )
        return subject_id

    def _digest(self, challenge_id: str, code: str) -> bytes:
        message = f"{challenge_id}\x00{code}".encode()
        return hmac.new(self._key, message, hashlib.sha256).digest()


def _new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
