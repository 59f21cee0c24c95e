"""One-time codes: only an HMAC is stored, the code reaches the address the subject gave, and every
attack fails the same way (wrong code, too many attempts, expiry, reuse, another subject's
challenge, guessing who is in the vault)."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from dataward.app import create_app
from dataward.clock import FrozenClock
from dataward.errors import InvalidRequest
from dataward.identity.challenges import (
    CODE_DIGITS,
    MAX_RECENT_CHALLENGES,
    ChallengeStarted,
    challenge_key,
    match_subject,
)
from dataward.identity.errors import NotificationFailed, SubjectNotVerified
from dataward.identity.notifiers import MemoryNotifier, Recipient
from dataward.keys import LocalKeyring
from dataward.policy import Policy, load_policy
from dataward.services import Vault
from dataward.settings import Settings
from dataward.storage import create_database_engine, migrate, read_connection, write_transaction
from dataward.storage.tables import subject_challenges, subjects
from support import FAST_HASHER, ApiClient

ADA = {"email": "Ada@Example.com", "full_name": "Ada Lovelace", "phone": "+44 20 7946 0958"}
GRACE = {"email": "grace@example.org", "full_name": "Grace Hopper"}
EXAMPLE_POLICY = Path(__file__).resolve().parents[3] / "examples" / "saas.yaml"
UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


@pytest.fixture
def sent() -> MemoryNotifier:
    """Every one-time code the vault sends, in order."""
    return MemoryNotifier()


@pytest.fixture
def make_vault(
    database_url: str, tmp_path: Path, policy: Policy, clock: FrozenClock, sent: MemoryNotifier
) -> Iterator[Callable[..., Vault]]:
    """Build the test's vault, once, with the policy and settings given; codes go to `sent`."""
    built: list[Vault] = []

    def make(policy_: Policy | None = None, **overrides: Any) -> Vault:
        assert not built, "one vault per test"
        settings = Settings(home=tmp_path, database_url=database_url, **overrides)
        keyring = LocalKeyring.generate(settings.keyring_path)
        engine = create_database_engine(database_url)
        migrate(engine)
        engine.dispose()
        vault = Vault.build(
            settings, policy=policy_ or policy, keyring=keyring, clock=clock,
            password_hasher=FAST_HASHER, notifier=sent,
        )  # fmt: skip
        built.append(vault)
        return vault

    yield make
    for vault in built:
        vault.close()


@pytest.fixture
def vault(make_vault: Callable[..., Vault]) -> Vault:
    return make_vault()


def start(vault: Vault, value: str, path: str = "profile.email") -> ChallengeStarted:
    with write_transaction(vault.engine) as connection:
        return vault.challenges.start(connection, path, value)


def verify(vault: Vault, challenge_id: str, code: str) -> str:
    """As the route does: a failed attempt is committed before the error goes up."""
    failure: SubjectNotVerified | None = None
    with write_transaction(vault.engine) as connection:
        try:
            return vault.challenges.verify(connection, challenge_id, code)
        except SubjectNotVerified as exc:
            failure = exc
    assert failure is not None
    raise failure


def stored_challenges(vault: Vault) -> int:
    with read_connection(vault.engine) as connection:
        return int(connection.execute(select(func.count()).select_from(subject_challenges)).scalar() or 0)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**CODE_DIGITS:0{CODE_DIGITS}d}"


def test_the_code_reaches_the_stored_address_and_proves_the_subject(
    api: ApiClient, vault: Vault, sent: MemoryNotifier
) -> None:
    sid = api.new_subject(ADA)
    started = start(vault, "  ada@EXAMPLE.com ")  # matched through the blind index's normalisation
    assert started.subject_id == sid and started.note == "code sent"
    assert started.expires_in == vault.settings.challenge_ttl_seconds == 600
    assert UUID4.fullmatch(started.challenge_id)
    [message] = sent.sent
    assert message.recipient == Recipient("email", "Ada@Example.com")
    assert message.recipient.address == "Ada@Example.com"  # the vault's, never what was typed
    assert re.fullmatch(rf"[0-9]{{{CODE_DIGITS}}}", message.code)
    assert verify(vault, started.challenge_id, message.code) == sid


def test_only_a_keyed_hmac_of_the_code_is_stored(api: ApiClient, vault: Vault, sent: MemoryNotifier) -> None:
    api.new_subject(ADA)
    started = start(vault, ADA["email"])
    code = sent.sent[0].code
    with read_connection(vault.engine) as connection:
        row = connection.execute(select(subject_challenges)).one()
    assert code.encode() not in bytes(row.code_hash)
    key = challenge_key(vault.keyring)
    expected = hmac.new(key, f"{started.challenge_id}\x00{code}".encode(), hashlib.sha256).digest()
    assert bytes(row.code_hash) == expected
    # A key of its own: neither the blind-index key nor a plain hash of the code.
    assert key != vault.keyring.blind_index_key()
    assert bytes(row.code_hash) != hashlib.sha256(code.encode()).digest()
    assert row.attempts == 0 and row.used_at is None


def test_unknown_values_get_the_same_answer_and_nothing_is_stored_or_sent(
    api: ApiClient, vault: Vault, sent: MemoryNotifier
) -> None:
    api.new_subject(ADA)
    known = start(vault, ADA["email"])
    before = stored_challenges(vault)
    unknown = start(vault, "nobody@example.com")
    assert (type(unknown.challenge_id), unknown.expires_in) == (type(known.challenge_id), known.expires_in)
    assert UUID4.fullmatch(unknown.challenge_id) and unknown.challenge_id != known.challenge_id
    assert unknown.subject_id is None
    assert stored_challenges(vault) == before  # the id is random, not stored
    assert len(sent.sent) == 1  # only the real subject's code
    with pytest.raises(SubjectNotVerified) as unknown_error:
        verify(vault, unknown.challenge_id, "12345678")
    with pytest.raises(SubjectNotVerified) as wrong_error:
        verify(vault, known.challenge_id, wrong(sent.sent[0].code))
    assert (unknown_error.value.status, unknown_error.value.detail) == (
        wrong_error.value.status,
        wrong_error.value.detail,
    )


def test_a_wrong_code_counts_and_the_limit_kills_the_challenge(
    api: ApiClient, vault: Vault, sent: MemoryNotifier
) -> None:
    sid = api.new_subject(ADA)
    started = start(vault, ADA["email"])
    code = sent.sent[0].code
    for attempt in range(1, vault.challenges.max_attempts + 1):
        with pytest.raises(SubjectNotVerified) as error:
            verify(vault, started.challenge_id, wrong(code))
        assert error.value.reason == "wrong code" and error.value.subject_id == sid
        with read_connection(vault.engine) as connection:
            assert connection.execute(select(subject_challenges.c.attempts)).scalar() == attempt
    with pytest.raises(SubjectNotVerified) as dead:
        verify(vault, started.challenge_id, code)  # the right code, too late
    assert dead.value.reason == "too many attempts"


def test_an_expired_code_is_refused(
    api: ApiClient, vault: Vault, sent: MemoryNotifier, clock: FrozenClock
) -> None:
    api.new_subject(ADA)
    started = start(vault, ADA["email"])
    clock.advance(started.expires_in)
    with pytest.raises(SubjectNotVerified) as error:
        verify(vault, started.challenge_id, sent.sent[0].code)
    assert error.value.reason == "the code has expired"


def test_a_code_just_before_expiry_still_works(
    api: ApiClient, vault: Vault, sent: MemoryNotifier, clock: FrozenClock
) -> None:
    sid = api.new_subject(ADA)
    started = start(vault, ADA["email"])
    clock.advance(started.expires_in - 1)
    assert verify(vault, started.challenge_id, sent.sent[0].code) == sid


def test_a_used_code_cannot_be_used_again(api: ApiClient, vault: Vault, sent: MemoryNotifier) -> None:
    sid = api.new_subject(ADA)
    started = start(vault, ADA["email"])
    assert verify(vault, started.challenge_id, sent.sent[0].code) == sid
    with pytest.raises(SubjectNotVerified) as error:
        verify(vault, started.challenge_id, sent.sent[0].code)
    assert error.value.reason == "the code was used already"


def test_signing_in_ends_the_subjects_other_challenges(
    api: ApiClient, vault: Vault, sent: MemoryNotifier
) -> None:
    api.new_subject(ADA)
    first, second = start(vault, ADA["email"]), start(vault, ADA["email"])
    verify(vault, second.challenge_id, sent.sent[1].code)
    with pytest.raises(SubjectNotVerified):
        verify(vault, first.challenge_id, sent.sent[0].code)


def test_a_code_answers_only_its_own_challenge(api: ApiClient, vault: Vault, sent: MemoryNotifier) -> None:
    ada, grace = api.new_subject(ADA), api.new_subject(GRACE)
    adas, graces = start(vault, ADA["email"]), start(vault, GRACE["email"])
    ada_code, grace_code = sent.sent[0].code, sent.sent[1].code
    assert ada_code != grace_code  # 1 in 10^8 to fail here rather than below
    with pytest.raises(SubjectNotVerified) as error:
        verify(vault, adas.challenge_id, grace_code)  # Grace's code on Ada's challenge
    assert error.value.subject_id == ada
    assert verify(vault, graces.challenge_id, grace_code) == grace
    assert verify(vault, adas.challenge_id, ada_code) == ada


def test_malformed_ids_and_codes_are_plain_failures(
    api: ApiClient, vault: Vault, sent: MemoryNotifier
) -> None:
    api.new_subject(ADA)
    started = start(vault, ADA["email"])
    for challenge_id, code in [
        ("not-a-uuid", sent.sent[0].code),
        (started.challenge_id.upper(), sent.sent[0].code),
        (started.challenge_id, ""),
        (started.challenge_id, sent.sent[0].code + "0"),
        (started.challenge_id, " " + sent.sent[0].code),
    ]:
        with pytest.raises(SubjectNotVerified):
            verify(vault, challenge_id, code)


def test_too_many_recent_challenges_answer_the_same_and_send_nothing(
    api: ApiClient, vault: Vault, sent: MemoryNotifier, clock: FrozenClock
) -> None:
    sid = api.new_subject(ADA)
    for _ in range(MAX_RECENT_CHALLENGES):
        assert start(vault, ADA["email"]).note == "code sent"
    held = start(vault, ADA["email"])
    assert (held.subject_id, held.note) == (sid, "too many recent challenges")
    assert UUID4.fullmatch(held.challenge_id) and held.expires_in == 600
    assert len(sent.sent) == MAX_RECENT_CHALLENGES
    assert stored_challenges(vault) == MAX_RECENT_CHALLENGES
    with pytest.raises(SubjectNotVerified):
        verify(vault, held.challenge_id, sent.sent[-1].code)
    clock.advance(held.expires_in + 1)  # the window passes; old rows are pruned
    assert start(vault, ADA["email"]).note == "code sent"
    assert stored_challenges(vault) == 1


def test_two_subjects_with_one_address_match_nobody(
    api: ApiClient, vault: Vault, sent: MemoryNotifier
) -> None:
    api.new_subject(ADA)
    api.new_subject({"email": "ada@example.com"})
    started = start(vault, ADA["email"])
    assert started.subject_id is None and sent.sent == []


def test_an_erased_subject_matches_nobody(api: ApiClient, vault: Vault, sent: MemoryNotifier) -> None:
    sid = api.new_subject(ADA)
    with write_transaction(vault.engine) as connection:
        connection.execute(update(subjects).where(subjects.c.id == sid).values(erased_at=vault.clock.now()))
        assert match_subject(vault.subjects, connection, "profile.email", ADA["email"]) is None
    assert start(vault, ADA["email"]).subject_id is None and sent.sent == []


def test_a_code_sent_before_an_erasure_is_refused_after_it(
    api: ApiClient, vault: Vault, sent: MemoryNotifier
) -> None:
    sid = api.new_subject(ADA)
    started = start(vault, ADA["email"])
    with write_transaction(vault.engine) as connection:
        connection.execute(update(subjects).where(subjects.c.id == sid).values(erased_at=vault.clock.now()))
    with pytest.raises(SubjectNotVerified) as error:
        verify(vault, started.challenge_id, sent.sent[0].code)
    assert error.value.reason == "the subject is erased"


def test_a_phone_field_sends_to_the_number_in_e164(
    make_vault: Callable[..., Vault], sent: MemoryNotifier, tmp_path: Path
) -> None:
    text = EXAMPLE_POLICY.read_text()
    declared = "        type: phone\n        category: user.contact.phone_number\n"
    assert declared in text
    policy_file = tmp_path / "phone.yaml"
    policy_file.write_text(text.replace(declared, declared + "        searchable: true\n"))
    vault = make_vault(load_policy(policy_file))
    with TestClient(create_app(vault, access_log=False)) as http:
        sid = ApiClient(http=http, vault=vault).new_subject(ADA)
    started = start(vault, "+44 20 7946 0958", "profile.phone")
    assert started.subject_id == sid
    assert sent.sent[0].recipient == Recipient("phone", "+442079460958")


def test_only_searchable_contact_fields_can_carry_a_code(api: ApiClient, vault: Vault) -> None:
    api.new_subject(ADA)
    for path in ["profile.full_name", "profile.country", "profile.nope", "nope.email"]:
        with pytest.raises(InvalidRequest) as error:
            start(vault, "x", path)
        assert error.value.errors[0].path == "field"


def test_a_malformed_value_is_refused_without_echoing_it(vault: Vault) -> None:
    with pytest.raises(InvalidRequest) as error:
        start(vault, "not-an-address-secret-value")
    assert "secret-value" not in str(error.value.extensions)
    assert "secret-value" not in error.value.detail


class FailingNotifier:
    def send(self, recipient: Recipient, code: str, expires_in: int) -> None:
        raise NotificationFailed("the mail server is down")


def test_a_failed_delivery_answers_like_any_other(api: ApiClient, vault: Vault) -> None:
    # The same vault's services, with a notifier that always fails.
    failing = type(vault.challenges)(
        vault.regions, vault.keyring, vault.policy, FailingNotifier(), vault.clock
    )
    sid = api.new_subject(ADA)
    with write_transaction(vault.engine) as connection:
        started = failing.start(connection, "profile.email", ADA["email"])
    assert (started.subject_id, started.note) == (sid, "the code could not be sent")
    assert UUID4.fullmatch(started.challenge_id) and started.expires_in == 600


def test_a_look_alike_address_on_another_domain_gets_no_code(
    api: ApiClient, vault: Vault, sent: MemoryNotifier
) -> None:
    """`straße.de` is somebody else's domain, though Unicode case folding makes it `strasse.de`:
    asking with it must neither match the subject nor send a code anywhere but the stored address."""
    api.new_subject({"email": "bob@strasse.de"})
    attacker = start(vault, "bob@straße.de")
    assert attacker.subject_id is None
    assert sent.sent == []
    mixed_case = start(vault, "Bob@Strasse.DE")  # plain case differences still match ...
    assert mixed_case.subject_id is not None
    assert [s.recipient.address for s in sent.sent] == ["bob@strasse.de"]  # ... and it goes to the stored one
