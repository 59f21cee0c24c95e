"""Webhook signatures: known answers computed apart from Dataward, and every way a check must fail."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dataward.rights.webhooks import EventKind, sign, verify_signature, webhook_headers

VECTORS: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent / "vectors" / "webhook_signatures.json").read_text(encoding="utf-8")
)["vectors"]

SECRET = b"whsec_test_secret"
BODY = b'{"id":"evt_1","kind":"erasure"}'
T = 1_700_000_000


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: f"t={v['timestamp']}")
def test_signatures_match_the_known_answers(vector: dict[str, Any]) -> None:
    secret, body, t = vector["secret"].encode(), vector["body"].encode(), vector["timestamp"]
    header = sign(secret, body, t)
    assert header == f"t={t},v1={vector['v1']}"
    assert verify_signature(secret, header, body, now=t)


def test_a_signature_holds_within_the_tolerance_either_side() -> None:
    header = sign(SECRET, BODY, T)
    assert verify_signature(SECRET, header, BODY, now=T + 300)
    assert verify_signature(SECRET, header, BODY, now=T - 300)
    assert verify_signature(SECRET, header, BODY, now=T + 3000, tolerance=3000)


@pytest.mark.parametrize(
    ("secret", "body", "now"),
    [
        pytest.param(b"whsec_other_secret", BODY, T, id="wrong secret"),
        pytest.param(SECRET, BODY.replace(b"erasure", b"rectification"), T, id="tampered body"),
        pytest.param(SECRET, BODY + b" ", T, id="one byte more"),
        pytest.param(SECRET, BODY, T + 301, id="too old: a replay"),
        pytest.param(SECRET, BODY, T - 301, id="from the future"),
    ],
)
def test_a_signature_fails_for_anything_else(secret: bytes, body: bytes, now: float) -> None:
    assert not verify_signature(secret, sign(SECRET, BODY, T), body, now=now)


def test_a_moved_timestamp_breaks_the_signature() -> None:
    digest = sign(SECRET, BODY, T).split(",v1=")[1]
    assert not verify_signature(SECRET, f"t={T + 1},v1={digest}", BODY, now=T)


def test_any_of_several_v1_signatures_may_match_as_when_rotating_secrets() -> None:
    good = sign(SECRET, BODY, T).split(",v1=")[1]
    other = sign(b"old secret", BODY, T).split(",v1=")[1]
    assert verify_signature(SECRET, f"t={T},v1={other},v1={good}", BODY, now=T)
    assert verify_signature(SECRET, f"t={T}, v0=whatever, v1={good}", BODY, now=T)  # unknown schemes ignored
    assert not verify_signature(SECRET, f"t={T},v1={other}", BODY, now=T)


GOOD = sign(SECRET, BODY, T).split(",v1=")[1]


@pytest.mark.parametrize(
    "header",
    [
        "",
        ",",
        "garbage",
        f"v1={GOOD}",  # no timestamp
        f"t={T}",  # no signature
        f"t={T},v1=",
        f"t={T},v1={GOOD[:-1]}",  # short
        f"t={T},v1={GOOD.upper()}",
        f"t={T},v1={GOOD[:-1]}é",  # not ASCII: compare_digest would raise on it
        f"t=abc,v1={GOOD}",
        f"t=-{T},v1={GOOD}",
        f"t=+{T},v1={GOOD}",
        f"t={T}.0,v1={GOOD}",
        f"t=1_700_000_000,v1={GOOD}",  # int() would accept it
        f"t=1{'0' * 40},v1={GOOD}",
        f"t={T},t={T},v1={GOOD}",  # two timestamps: which one was signed?
        f"t={T},v1={GOOD},junk",
        f"t={T};v1={GOOD}",
        "t=\x00,v1=\x00",
    ],
)
def test_a_malformed_header_is_invalid_and_never_raises(header: str) -> None:
    assert not verify_signature(SECRET, header, BODY, now=T)


def test_the_headers_of_an_attempt() -> None:
    headers = webhook_headers(
        event_id="evt-42", kind=EventKind.ERASURE, secret=SECRET, body=BODY, timestamp=T
    )
    assert headers == {
        "Content-Type": "application/json",
        "Idempotency-Key": "evt-42",
        "Dataward-Event": "erasure",
        "Dataward-Signature": sign(SECRET, BODY, T),
    }
    assert verify_signature(SECRET, headers["Dataward-Signature"], BODY, now=T)
