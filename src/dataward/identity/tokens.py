"""Short-lived EdDSA access tokens (RFC 9068 JWT profile) and their verification.

Verification checks the signature against our own keys only, the algorithm (EdDSA, nothing else:
`none` and HMAC tricks are refused), expiry, not-before, issuer and audience. A verified token is
cached until it expires, so a busy client pays for signature verification once per token.

A data subject's token (`issue_subject`) is the same kind of JWT with role `subject`, a `subject`
claim, no purposes and a shorter life. It reaches only the subject's own data under `/v1/me`: the
client routes refuse any principal with a `subject_id` (see `dataward.api.deps`).

A client's token may carry `fam`, the family it descends from (a refresh-token family, see
`dataward.identity.refresh`), so that revoking the family kills every access token of it at once;
and, when made by token exchange (`issue_exchanged`), `only_subject` (the one data subject it may
reach) and `exchanged_from` (its parent's `jti`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from dataward.clock import Clock
from dataward.identity.clients import ClientRecord
from dataward.identity.errors import InvalidToken
from dataward.keys import Keyring
from dataward.settings import Settings

__all__ = [
    "ALGORITHM",
    "SELF_SERVICE",
    "SUBJECT_ROLE",
    "IssuedToken",
    "Principal",
    "TokenIssuer",
    "TokenVerifier",
]

ALGORITHM = "EdDSA"
SUBJECT_ROLE = "subject"  # the role of a data subject's token; never a role of the policy
SELF_SERVICE = "self-service"  # the client id of a data subject's token, and of /v1/me in the audit log
_TYP = "at+jwt"
_MAX_TOKEN_BYTES = 4096
_REQUIRED = ("iss", "aud", "sub", "exp", "iat", "nbf", "jti", "role", "purposes")
_MAX_ID = 64  # a family id or data-subject id fits the audit log's and the tables' id columns


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a client, acting in a role, for some purposes, until `expires_at`; or a data
    subject (`subject_id` set, role `subject`, no purposes) acting on their own data."""

    client_id: str
    role: str
    purposes: frozenset[str]
    token_id: str
    expires_at: float
    subject_id: str | None = None
    issued_at: float = 0.0
    family_id: str | None = None  # the refresh-token family (or parent token) it descends from
    only_subject: str | None = None  # narrowed by token exchange to one data subject's records


@dataclass(frozen=True, slots=True)
class IssuedToken:
    access_token: str
    expires_in: int
    scope: str
    token_id: str = ""  # its jti, for the audit log; never part of the response

    def as_response(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "scope": self.scope,
        }


class TokenIssuer:
    def __init__(self, keyring: Keyring, settings: Settings, clock: Clock) -> None:
        self._keyring = keyring
        self._settings = settings
        self._clock = clock

    def issue(
        self, client: ClientRecord, purposes: list[str], *, family_id: str | None = None
    ) -> IssuedToken:
        """A client's token for `purposes`; `family_id` ties it to a refresh-token family."""
        now = int(self._clock.timestamp())
        ttl = self._settings.token_ttl_seconds
        claims: dict[str, Any] = {"sub": client.id, "client_id": client.id, "role": client.role}
        if family_id is not None:
            claims["fam"] = family_id
        return self._sign(claims, purposes, now, now + ttl)

    def issue_exchanged(
        self, parent: Principal, purposes: list[str], *, only_subject: str | None, expires_at: int
    ) -> IssuedToken:
        """A narrower token made from `parent` by token exchange (RFC 8693). The caller has checked
        that it widens nothing; here it inherits the client, role and family (the parent's family,
        else the parent itself, so that revoking either kills it)."""
        claims: dict[str, Any] = {
            "sub": parent.client_id,
            "client_id": parent.client_id,
            "role": parent.role,
            "fam": parent.family_id or parent.token_id,
            "exchanged_from": parent.token_id,
        }
        if only_subject is not None:
            claims["only_subject"] = only_subject
        return self._sign(claims, purposes, int(self._clock.timestamp()), expires_at)

    def _sign(self, claims: dict[str, Any], purposes: list[str], now: int, expires_at: int) -> IssuedToken:
        jti = secrets.token_urlsafe(16)
        claims.update(
            iss=self._settings.issuer,
            aud=self._settings.audience,
            purposes=purposes,
            scope=" ".join(purposes),
            jti=jti,
            iat=now,
            nbf=now,
            exp=expires_at,
        )
        key = self._keyring.token_signing_key()
        token = jwt.encode(claims, key.private, algorithm=ALGORITHM, headers={"kid": key.kid, "typ": _TYP})
        return IssuedToken(
            access_token=token, expires_in=expires_at - now, scope=claims["scope"], token_id=jti
        )

    def issue_subject(self, subject_id: str) -> IssuedToken:
        """A short-lived token for a data subject who proved who they are: their own data, nothing else."""
        now = int(self._clock.timestamp())
        ttl = self._settings.subject_token_ttl_seconds
        claims = {
            "iss": self._settings.issuer,
            "aud": self._settings.audience,
            "sub": subject_id,
            "subject": subject_id,
            "client_id": SELF_SERVICE,
            "role": SUBJECT_ROLE,
            "purposes": [],
            "jti": secrets.token_urlsafe(16),
            "iat": now,
            "nbf": now,
            "exp": now + ttl,
        }
        key = self._keyring.token_signing_key()
        token = jwt.encode(claims, key.private, algorithm=ALGORITHM, headers={"kid": key.kid, "typ": _TYP})
        return IssuedToken(access_token=token, expires_in=ttl, scope="", token_id=str(claims["jti"]))


class TokenVerifier:
    def __init__(self, keyring: Keyring, settings: Settings, clock: Clock) -> None:
        self._keyring = keyring
        self._settings = settings
        self._clock = clock
        self._cache: dict[str, Principal] = {}

    def verify(self, token: str) -> Principal:
        now = self._clock.timestamp()
        cached = self._cache.get(token)
        if cached is not None:
            if cached.expires_at > now:
                return cached
            del self._cache[token]
            raise InvalidToken("the access token has expired")
        principal = self._verify_uncached(token, now)
        if len(self._cache) >= self._settings.token_cache_size:
            self._evict(now)
        self._cache[token] = principal
        return principal

    def _evict(self, now: float) -> None:
        expired = [t for t, p in self._cache.items() if p.expires_at <= now]
        for t in expired or list(self._cache)[: max(1, len(self._cache) // 10)]:
            self._cache.pop(t, None)

    def _verify_uncached(self, token: str, now: float) -> Principal:
        if len(token) > _MAX_TOKEN_BYTES:
            raise InvalidToken("the access token is too long")
        try:
            header = jwt.get_unverified_header(token)
            key = self._key(header)
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self._settings.audience,
                issuer=self._settings.issuer,
                options={
                    "require": list(_REQUIRED),
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
        except jwt.PyJWTError:
            raise InvalidToken("the access token is not valid") from None
        # Time is checked here, against our clock, rather than inside PyJWT.
        if not isinstance(claims["exp"], int) or claims["exp"] <= now:
            raise InvalidToken("the access token has expired")
        if not isinstance(claims["nbf"], int) or claims["nbf"] > now + 5:
            raise InvalidToken("the access token is not valid yet")
        purposes = claims["purposes"]
        if not isinstance(purposes, list) or not all(isinstance(p, str) for p in purposes):
            raise InvalidToken("the access token is not valid")
        subject = claims.get("subject")
        if (subject is not None or claims["role"] == SUBJECT_ROLE) and not (
            isinstance(subject, str) and subject == claims["sub"] and claims["role"] == SUBJECT_ROLE
            and not purposes
        ):  # fmt: skip
            raise InvalidToken("the access token is not valid")  # half a subject token is no token
        family, only_subject = claims.get("fam"), claims.get("only_subject")
        if not (_optional_id(family) and _optional_id(only_subject)) or (
            subject is not None and (family is not None or only_subject is not None)
        ):
            raise InvalidToken("the access token is not valid")
        return Principal(
            client_id=SELF_SERVICE if subject is not None else str(claims["sub"]),
            role=str(claims["role"]),
            purposes=frozenset(purposes),
            token_id=str(claims["jti"]),
            expires_at=float(claims["exp"]),
            subject_id=subject,
            issued_at=float(claims["iat"]) if isinstance(claims["iat"], int) else 0.0,
            family_id=family,
            only_subject=only_subject,
        )

    def _key(self, header: dict[str, Any]) -> Ed25519PublicKey:
        if header.get("alg") != ALGORITHM or header.get("typ") != _TYP:
            raise InvalidToken("the access token uses an algorithm or type we do not accept")
        key = self._keyring.token_verification_keys().get(str(header.get("kid")))
        if key is None:
            raise InvalidToken("the access token was not signed by a key of ours")
        return key


def _optional_id(value: object) -> bool:
    return value is None or (isinstance(value, str) and 0 < len(value) <= _MAX_ID)
