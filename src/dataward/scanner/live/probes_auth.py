"""Live probes of authentication: does the API insist on a genuine token, in the header only, and
does its login keep quiet about who has an account?

- `no_token`: each secured GET (at most 20; health checks and documents left out) called without
  any credentials; 1 request each. A 2xx is API2-NO-TOKEN-ACCEPTED.
- `forged_tokens`: the first identity's JWT, forged. Canaries are secured GETs that answer 2xx to
  the genuine token and not without one (`/users/me`-like paths first, then those with the fewest
  parameters; at most 12 tried, 2 requests each, at most 6 kept). Each canary then gets a token
  whose signature was altered, one with `alg: none`, and an expired one (signed with the weak
  secret if one was found, else the genuine signature over a changed payload). The HS256/384/512
  secret is guessed offline from a short list of weak ones (no request); a secret found is a
  finding by itself, proved with a freshly signed copy of the genuine claims on every canary.
  At most 12 x 2 + 4 x 6 requests. A forgery every canary accepts is reported once for the API.
- `token_in_query`: one canary called with `?access_token=` and `?token=` and no header: 2 requests
  after finding it.
- `user_enumeration`: each login operation (at most 2) read from the spec (a JSON body with a user
  and a password property), called for a known user with a wrong password and for an unknown user:
  2 requests each, since logins are rate limited. A difference in status or in the gist of the
  body (its keys and messages, with ids, numbers and the values sent scrubbed) is reported.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Iterator
from typing import Any

from dataward.scanner.document import Operation
from dataward.scanner.findings import Finding, Severity
from dataward.scanner.live.client import Answer
from dataward.scanner.live.context import (
    Identity,
    LiveContext,
    Probe,
    b64url,
    decode_segment,
    encode_segment,
    sample_value,
)
from dataward.scanner.words import (
    is_own_path,
    is_public_by_nature,
    is_sign_in_path,
    name_tokens,
)

__all__ = ["PROBES", "WEAK_SECRETS", "forged_tokens", "no_token", "token_in_query", "user_enumeration"]

_MAX_OPERATIONS = 20
_MAX_CANDIDATES = 12
_MAX_CANARIES = 6
_MAX_LOGINS = 2
_DAY = 86_400

# The first words anyone tries: framework defaults, tutorial values, and the empty key.
WEAK_SECRETS = (
    "secret", "password", "123456", "changeme", "change-me", "jwt", "key", "test", "admin",
    "your-256-bit-secret", "your-secret-key", "secretkey", "secret-key", "secret_key", "supersecret",
    "dev", "development", "default", "jwt_secret", "jwt-secret", "jwtsecret", "mysecret",
    "my-secret", "s3cr3t", "secret123", "qwerty", "letmein", "token", "private", "shhhhh",
    "keyboard cat", "1234567890", "",
)  # fmt: skip
_HMAC = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}
_USER = frozenset({"username", "user", "login", "email", "mail", "account", "identifier", "handle"})
_PASSWORD = frozenset({"password", "passwd", "pass", "pwd", "passphrase", "secret"})
_MESSAGES = ("title", "detail", "message", "error", "error_description", "code")
_VOLATILE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F-]{27}|[0-9a-fA-F]{16,}|\d+")


# -- no token -------------------------------------------------------------------------------------


def no_token(context: LiveContext) -> Iterator[Finding]:
    for operation in _secured_reads(context)[:_MAX_OPERATIONS]:
        answer = context.call(operation, None)
        if answer.ok:
            yield context.finding(
                "API2-NO-TOKEN-ACCEPTED",
                f"{operation.label} declares security, yet answered {answer.status} without any token.",
                operation,
                evidence={"key": "no-token", "status": answer.status},
            )


def _secured_reads(context: LiveContext) -> list[Operation]:
    return [
        o for o in context.reads() if o.secured and context.may_call(o) and not is_public_by_nature(o.path)
    ]


def _canaries(context: LiveContext, identity: Identity, limit: int) -> list[Operation]:
    """Secured reads where the genuine token gets a 2xx and no token does not: where a forged
    token's 2xx means the forgery worked."""

    def rank(operation: Operation) -> tuple[bool, int]:
        selfish = is_own_path(operation.path)
        return not selfish, sum(p.required for p in operation.parameters)

    found: list[Operation] = []
    for operation in sorted(_secured_reads(context), key=rank)[:_MAX_CANDIDATES]:
        if context.call(operation, identity).ok and not context.call(operation, None).ok:
            found.append(operation)
            if len(found) == limit:
                break
    if not found:
        context.notes.append(f"no secured GET answered {identity.name}'s token alone; tokens not forged")
    return found


# -- forged tokens --------------------------------------------------------------------------------


def forged_tokens(context: LiveContext) -> Iterator[Finding]:
    identity = context.identities[0] if context.identities else None
    parts = identity.token.split(".") if identity else []
    header = decode_segment(parts[0]) if len(parts) == 3 else None
    if identity is None or header is None or not identity.claims:
        context.notes.append("forged tokens: the first identity's token is not a JWT; nothing forged")
        return
    algorithm, claims, (head, payload, signature) = str(header.get("alg", "")), identity.claims, parts
    secret = _weak_secret(identity.token, algorithm)
    canaries = _canaries(context, identity, _MAX_CANARIES)
    if secret is not None:
        now = int(time.time())
        lifetime = claims["exp"] - claims["iat"] if _is_int(claims.get("exp"), claims.get("iat")) else 900
        fresh = _signed(header, {**claims, "iat": now, "exp": now + lifetime}, secret, algorithm)
        accepted = [o for o in canaries if context.call(o, None, token=fresh).ok]
        proof = (
            f"; a token freshly signed with it was accepted by {len(accepted)} of {len(canaries)} operations"
            if canaries
            else " (no operation to prove it on)"
        )
        yield context.finding(
            "API2-FORGED-TOKEN-ACCEPTED",
            f"The tokens are signed ({algorithm}) with the guessable secret {secret.decode()!r}: anyone "
            f"can mint one{proof}.",
            severity=Severity.CRITICAL,
            evidence={"key": "weak-secret", "secret": secret.decode(), "algorithm": algorithm,
                      "accepted_by": [o.label for o in accepted]},
        )  # fmt: skip
    if not canaries:
        return
    expired_claims = {**claims, "iat": int(time.time()) - 2 * _DAY, "exp": int(time.time()) - _DAY}
    expired = (
        ("expired", "an expired token signed with the weak secret",
         _signed(header, expired_claims, secret, algorithm))
        if secret is not None
        else ("expired-tampered", "an expired token (payload changed, signature kept)",
              f"{head}.{encode_segment(expired_claims)}.{signature}")
    )  # fmt: skip
    forgeries = (
        ("altered-signature", "a token whose signature was altered",
         f"{head}.{payload}.{'B' if signature[:1] == 'A' else 'A'}{signature[1:]}"),
        ("alg-none", "a token with `alg: none` and no signature",
         f"{encode_segment({**header, 'alg': 'none'})}.{payload}."),
        expired,
    )  # fmt: skip
    for key, what, token in forgeries:
        accepted = [o for o in canaries if context.call(o, None, token=token).ok]
        if len(canaries) > 1 and len(accepted) == len(canaries):
            yield context.finding(
                "API2-FORGED-TOKEN-ACCEPTED",
                f"Every operation tried ({len(canaries)}) accepts {what}.",
                evidence={"key": key, "accepted_by": [o.label for o in accepted]},
            )
            continue
        for operation in accepted:
            yield context.finding(
                "API2-FORGED-TOKEN-ACCEPTED",
                f"{operation.label} accepts {what}.",
                operation,
                evidence={"key": key},
            )


def _weak_secret(token: str, algorithm: str) -> bytes | None:
    """The weak secret the token was signed with, found offline, if it is one."""
    digest = _HMAC.get(algorithm.upper())
    head, payload, signature = token.split(".")
    if digest is None:
        return None
    signed = f"{head}.{payload}".encode()
    for word in WEAK_SECRETS:
        if hmac.compare_digest(b64url(hmac.new(word.encode(), signed, digest).digest()), signature):
            return word.encode()
    return None


def _signed(header: dict[str, Any], claims: dict[str, Any], secret: bytes, algorithm: str) -> str:
    head, payload = encode_segment(header), encode_segment(claims)
    signature = hmac.new(secret, f"{head}.{payload}".encode(), _HMAC[algorithm.upper()]).digest()
    return f"{head}.{payload}.{b64url(signature)}"


def _is_int(*values: object) -> bool:
    return all(isinstance(v, int) and not isinstance(v, bool) for v in values)


# -- token in the query ---------------------------------------------------------------------------


def token_in_query(context: LiveContext) -> Iterator[Finding]:
    if not context.identities:
        return
    identity = context.identities[0]
    for operation in _canaries(context, identity, 1):
        for name in ("access_token", "token"):
            answer = context.call(operation, None, query={name: identity.token})
            if answer.ok:
                yield context.finding(
                    "API2-TOKEN-IN-QUERY-ACCEPTED",
                    f"{operation.label} accepts the bearer token in the query parameter `{name}`, "
                    "where proxies and access logs keep it.",
                    operation,
                    evidence={"key": name, "parameter": name, "status": answer.status},
                )


# -- user enumeration -----------------------------------------------------------------------------


def user_enumeration(context: LiveContext) -> Iterator[Finding]:
    logins = [
        o
        for o in context.operations
        if o.method == "POST" and is_sign_in_path(o.path) and context.may_call(o)
    ]
    for operation in logins[:_MAX_LOGINS]:
        fields = _login_fields(context, operation)
        known = _known_user(context, email=fields[2]) if fields else None
        if fields is None or known is None:
            context.notes.append(f"user enumeration: no username and password to send to {operation.label}")
            continue
        user, password, email, base = fields
        nobody = f"dw-{secrets.token_hex(6)}" + ("@example.invalid" if email else "")
        tries = {known: secrets.token_urlsafe(12), nobody: secrets.token_urlsafe(12)}
        wrong, unknown = (
            context.call(operation, None, body={**base, user: name, password: guess})
            for name, guess in tries.items()
        )
        sent = {value: "<sent>" for pair in tries.items() for value in pair}
        if {wrong.status, unknown.status} & {0, 429} or wrong.ok or unknown.ok:
            context.notes.append(f"user enumeration: {operation.label} gave no comparable answers")
            continue
        differs = "status" if wrong.status != unknown.status else None
        if differs is None and _gist(wrong, sent) != _gist(unknown, sent):
            differs = "body"
        if differs is not None:
            yield context.finding(
                "API2-USER-ENUMERATION",
                f"{operation.label} answers an unknown user ({unknown.status}) and a known user's wrong "
                f"password ({wrong.status}) with a different {differs}: anyone can test who has an account.",
                operation,
                evidence={"key": "login", "differs_in": differs, "wrong_password_status": wrong.status,
                          "unknown_user_status": unknown.status},
            )  # fmt: skip


def _login_fields(context: LiveContext, operation: Operation) -> tuple[str, str, bool, dict[str, Any]] | None:
    """The user property, the password property, whether the user is an e-mail address, and a body
    with the other required properties."""
    for media in operation.bodies:
        schema, _ = context.document.resolve(media.schema, media.pointer)
        properties = (
            schema.get("properties") if "json" in media.media_type and isinstance(schema, dict) else None
        )
        if not isinstance(properties, dict):
            continue
        passwords = [n for n in properties if set(name_tokens(n)) & _PASSWORD]
        users = [n for n in properties if set(name_tokens(n)) & _USER and n not in passwords]
        if users and passwords:
            shape = properties[users[0]] if isinstance(properties[users[0]], dict) else {}
            email = bool({"email", "mail"} & set(name_tokens(users[0]))) or shape.get("format") == "email"
            base = sample_value(schema, context.document)
            return users[0], passwords[0], email, base if isinstance(base, dict) else {}
    return None


def _known_user(context: LiveContext, *, email: bool) -> str | None:
    claims = ("email", "preferred_username", "username", "sub") if email else (
        "preferred_username", "username", "sub", "email")  # fmt: skip
    for identity in context.identities:
        for claim in claims:
            value = identity.claims.get(claim)
            if isinstance(value, str) and value and ("@" in value or not email):
                return value
    return None


def _gist(answer: Answer, sent: dict[str, str]) -> object:
    """What an answer says, without what changes from call to call or echoes what was sent."""

    def scrub(text: str) -> str:
        for value, placeholder in sent.items():
            text = text.replace(value, placeholder)
        return _VOLATILE.sub("#", text)

    body = answer.json()
    if isinstance(body, dict):
        return sorted(body), [scrub(str(body[k])) for k in _MESSAGES if k in body]
    return scrub(answer.text)


PROBES: tuple[Probe, ...] = (no_token, forged_tokens, token_in_query, user_enumeration)
