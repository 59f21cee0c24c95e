"""Access tokens from the external identity providers of the policy (`identity_providers`).

A provider vouches for who a client is; what the client may do is the policy's alone. So:

- the token's unverified `iss` picks the provider (an exact match, else `InvalidToken`), and only
  that provider's keys (`dataward.identity.jwks`) can verify it: a key of provider B never vouches
  for a token claiming provider A;
- the signature is RS256, ES256 or EdDSA, as the provider allows, and must be the algorithm of the
  key the header's `kid` (required) names: `none`, HMAC "signed" with a public key and an RSA
  signature checked with an EC key are all refused. `crit`/`b64` headers are refused; key material
  in the header (`jwk`, `jku`, `x5c`) is never used;
- `exp` and `iat` are required and checked against our clock with the provider's leeway, as is
  `nbf` when present; `aud` must contain the provider's configured audience; `typ`, when given,
  must be that of an access token (`at+jwt`) or plain `JWT`;
- the client is `<provider>:<claim>` (the configured claim, else `azp`, else `sub`; 64 characters
  in all, of a small alphabet), so an external client never passes for a registered one (`dw_...`)
  or for one of another provider;
- the role is the provider's, from the policy: a `role`, `roles` or `groups` claim is ignored, and a
  data subject's role can never come from outside (`Principal.subject_id` stays None);
- the purposes are the token's scopes that the role has: a provider's tokens carry scopes meant for
  other APIs too (`openid`, `profile`), so the others are ignored rather than refused, and they
  never add to the role. A token left with no purpose, for a role that has some, is refused.

A verified token is cached (by its SHA-256, bounded) until it expires, so a busy client pays for the
signature once per token. Revocation is checked per request by the caller, as for our own tokens.
Failures are `InvalidToken` (401), whose detail never echoes the token's content; a provider whose
keys cannot be fetched, and of which none are cached, is `IdentityProviderUnavailable` (503).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt

from dataward.clock import Clock
from dataward.errors import Problem
from dataward.identity.errors import InvalidToken
from dataward.identity.jwks import JwksCache, SigningKeys
from dataward.identity.tokens import SUBJECT_ROLE, Principal
from dataward.policy import Policy, PolicyError
from dataward.policy.edge import IdentityProvider

__all__ = ["ExternalTokenVerifier"]

_MAX_TOKEN_BYTES = 8192
MAX_EXTERNAL_TOKEN_SECONDS = 86_400  # what `guard.revocations` remembers a client's cut-off for
_MAX_KID = 256
_MAX_ID = 64  # client and token ids fill 64-character columns (audit log, refresh tokens)
_CLIENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@+-]*$")
_TOKEN_TYPES = frozenset({"jwt", "at+jwt", "application/at+jwt"})
_NOT_VALID = "the access token is not valid"


@dataclass(frozen=True, slots=True)
class _Trusted:
    name: str
    provider: IdentityProvider
    keys: SigningKeys
    purposes: frozenset[str]  # those of the provider's role


class ExternalTokenVerifier:
    """Verifies the access tokens of the policy's identity providers (see the module's docstring).

    `key_sets` replaces the JWKS fetched from a provider's `jwks_url` (tests pass `StaticKeys`);
    `own_issuer` is the vault's own, which no provider may claim."""

    def __init__(
        self,
        providers: Mapping[str, IdentityProvider],
        policy: Policy,
        clock: Clock,
        *,
        own_issuer: str | None = None,
        key_sets: Mapping[str, SigningKeys] | None = None,
        cache_size: int = 10_000,
    ) -> None:
        _check(providers, policy, own_issuer)
        self._clock = clock
        self._cache_size = cache_size
        self._cache: dict[bytes, tuple[Principal, float]] = {}  # sha256 -> (principal, valid until)
        key_sets = key_sets or {}
        self._by_issuer = {
            provider.issuer: _Trusted(
                name,
                provider,
                key_sets[name] if name in key_sets else JwksCache(provider.jwks_url, clock),
                frozenset(policy.roles[provider.role].purposes),
            )
            for name, provider in providers.items()
        }

    async def verify(self, token: str) -> Principal:
        """The principal of a valid token of one of the providers; `InvalidToken` otherwise."""
        now = self._clock.timestamp()
        if len(token) > _MAX_TOKEN_BYTES:
            raise InvalidToken("the access token is too long")
        digest = hashlib.sha256(token.encode()).digest()
        cached = self._cache.get(digest)
        if cached is not None:
            if cached[1] > now:
                return cached[0]
            del self._cache[digest]
            raise InvalidToken("the access token has expired")
        principal, valid_until = await self._verify_uncached(token, digest, now)
        if len(self._cache) >= self._cache_size:
            self._evict(now)
        self._cache[digest] = (principal, valid_until)
        return principal

    async def aclose(self) -> None:
        for trusted in self._by_issuer.values():
            await trusted.keys.aclose()

    def _evict(self, now: float) -> None:
        expired = [d for d, (_, until) in self._cache.items() if until <= now]
        for d in expired or list(self._cache)[: max(1, len(self._cache) // 10)]:
            self._cache.pop(d, None)

    async def _verify_uncached(self, token: str, digest: bytes, now: float) -> tuple[Principal, float]:
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except (jwt.PyJWTError, ValueError, TypeError):
            raise InvalidToken(_NOT_VALID) from None
        issuer = unverified.get("iss")
        trusted = self._by_issuer.get(issuer) if isinstance(issuer, str) else None
        if trusted is None:
            raise InvalidToken("the access token's issuer is not trusted")
        alg = _checked_header(header, trusted.provider)
        key = await trusted.keys.key(header["kid"])
        if key is None:
            raise InvalidToken("no key of the identity provider has that kid")
        if key.algorithm_name != alg:
            raise InvalidToken("the access token's algorithm does not match its key")
        claims = _decode(token, key.key, alg, trusted.provider)
        exp, iat = _times(claims, now, trusted.provider.leeway_seconds)
        jti = claims.get("jti")
        principal = Principal(
            client_id=_client_id(claims, trusted),
            role=trusted.provider.role,
            purposes=_purposes(claims, trusted),
            token_id=jti if isinstance(jti, str) and 0 < len(jti) <= _MAX_ID and jti.isprintable()
            else digest.hex(),
            expires_at=exp,
            issued_at=iat,
        )  # fmt: skip
        return principal, exp + trusted.provider.leeway_seconds


def _check(providers: Mapping[str, IdentityProvider], policy: Policy, own_issuer: str | None) -> None:
    """The policy's reference checks again (a policy built in code skips them), and the one only
    the settings can tell: that no provider claims the vault's own issuer."""
    problems: list[Problem] = []
    issuers: set[str] = set()
    for name, provider in providers.items():
        at = f"identity_providers.{name}"
        if provider.role == SUBJECT_ROLE or provider.role not in policy.roles:
            problems.append(Problem(f"{at}.role", f"not a role a provider can give: {provider.role}"))
        if provider.issuer == own_issuer:
            problems.append(Problem(f"{at}.issuer", "the vault's own issuer (DATAWARD_ISSUER)"))
        elif provider.issuer in issuers:
            problems.append(Problem(f"{at}.issuer", "another provider has this issuer"))
        issuers.add(provider.issuer)
        if len(name) + 2 > _MAX_ID:
            problems.append(Problem(at, "the name leaves no room for client ids"))
    if problems:
        raise PolicyError("identity_providers", problems)


def _checked_header(header: dict[str, Any], provider: IdentityProvider) -> str:
    alg, kid, typ = header.get("alg"), header.get("kid"), header.get("typ")
    if alg not in provider.algorithms:
        raise InvalidToken("the access token uses an algorithm we do not accept")
    if not isinstance(kid, str) or not 0 < len(kid) <= _MAX_KID:
        raise InvalidToken("the access token names no key")
    if typ is not None and (not isinstance(typ, str) or typ.lower() not in _TOKEN_TYPES):
        raise InvalidToken("the token is not an access token")
    if "crit" in header or "b64" in header:
        raise InvalidToken("the access token uses a header extension we do not accept")
    return str(alg)


def _decode(token: str, key: Any, alg: str, provider: IdentityProvider) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[alg],
            audience=provider.audience,
            issuer=provider.issuer,
            options={
                "require": ["iss", "aud", "exp", "iat"],
                # Time is checked by `_times`, against our clock.
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
                "enforce_minimum_key_length": True,
            },
        )
    except (jwt.PyJWTError, ValueError, TypeError):
        raise InvalidToken(_NOT_VALID) from None
    return claims


def _times(claims: Mapping[str, Any], now: float, leeway: int) -> tuple[float, float]:
    """`exp` and `iat`, once they and `nbf` are numbers that make sense at `now`."""
    exp, iat, nbf = claims["exp"], claims["iat"], claims.get("nbf", claims["iat"])
    if not all(isinstance(t, int | float) and not isinstance(t, bool) for t in (exp, iat, nbf)):
        raise InvalidToken(_NOT_VALID)
    if exp + leeway <= now:
        raise InvalidToken("the access token has expired")
    if iat > now + leeway or nbf > now + leeway:
        raise InvalidToken("the access token is not valid yet")
    if exp <= iat or exp <= nbf:
        raise InvalidToken(_NOT_VALID)
    if exp - iat > MAX_EXTERNAL_TOKEN_SECONDS:  # a cut-off client's tokens must die before it is forgotten
        raise InvalidToken("the access token lives longer than a day")
    return float(exp), float(iat)


def _client_id(claims: Mapping[str, Any], trusted: _Trusted) -> str:
    """`<provider>:<client>`, from the first of the client claim, `azp` and `sub` that the token
    has. A claim that is there but malformed is refused, not skipped for the next."""
    for claim in dict.fromkeys((trusted.provider.client_claim, "azp", "sub")):
        value = claims.get(claim)
        if value is None:
            continue
        client_id = f"{trusted.name}:{value}"
        if not isinstance(value, str) or not _CLIENT.match(value) or len(client_id) > _MAX_ID:
            raise InvalidToken("the access token names its client in a form we do not accept")
        return client_id
    raise InvalidToken("the access token names no client")


def _purposes(claims: Mapping[str, Any], trusted: _Trusted) -> frozenset[str]:
    scopes = claims.get(trusted.provider.scope_claim)
    if isinstance(scopes, str):
        named = scopes.split()
    elif scopes is None:
        named = []
    elif isinstance(scopes, list) and all(isinstance(s, str) for s in scopes):
        named = scopes
    else:
        raise InvalidToken(_NOT_VALID)
    purposes = trusted.purposes.intersection(named)
    if trusted.purposes and not purposes:
        raise InvalidToken("the access token carries no purpose of its role")
    return purposes
