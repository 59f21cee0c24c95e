"""Sign-in with the team's OpenID Connect provider: a data subject presents an ID token, and the
vault finds them through one claim of it (by default `email`) in one searchable field (by default
`profile.email`), by the field's blind index.

The token is checked as OpenID Connect Core 3.1.3.7 asks: a signature by a key from the provider's
JWKS (fetched by PyJWT's `PyJWKClient`, the key set cached for 5 minutes, so a key the provider
removes is forgotten within them)
with RS256, ES256 or EdDSA only (so `none` and an HS256 token "signed" with the public key are
refused), the algorithm matching the key's, the issuer, the audience (and `azp` when there are
several), `exp`, `iat` and `sub` present, and the time checked against our clock. An e-mail or phone
claim counts only when the provider says it verified it (`email_verified`, `phone_number_verified`).

Every failure is one `SubjectNotVerified`; the reason goes to the audit log, never to the caller.
"""

from __future__ import annotations

from typing import Any

import jwt
from jwt import PyJWKClient
from jwt.exceptions import PyJWKClientConnectionError
from sqlalchemy import Connection

from dataward.clock import Clock
from dataward.errors import InvalidRequest
from dataward.identity.challenges import match_anywhere
from dataward.identity.errors import IdentityProviderUnavailable, SubjectNotVerified
from dataward.policy import Policy
from dataward.settings import OidcSettings
from dataward.subjects.regions import Regions

__all__ = ["ALLOWED_ALGORITHMS", "OidcVerifier"]

ALLOWED_ALGORITHMS = ("RS256", "ES256", "EdDSA")
_MAX_TOKEN_BYTES = 8192
_LEEWAY_SECONDS = 30  # clock skew between the provider and us
_MAX_AGE_SECONDS = 600  # how old an ID token may be when it is exchanged
_VERIFIED_FLAG = {"email": "email_verified", "phone_number": "phone_number_verified"}


class OidcVerifier:
    def __init__(
        self,
        settings: OidcSettings,
        policy: Policy,
        clock: Clock,
        jwks_client: PyJWKClient | None = None,
    ) -> None:
        spec = policy.field(settings.subject_field)
        if spec is None or not spec.searchable:
            raise ValueError(f"DATAWARD_OIDC_FIELD: {settings.subject_field} is not a searchable field")
        self.settings = settings
        self._clock = clock
        self._jwks = jwks_client or PyJWKClient(
            settings.jwks_url,
            cache_keys=False,
            cache_jwk_set=True,
            lifespan=300,  # a key the provider removed is forgotten within 5 minutes
            timeout=5,
        )

    def verified_claim(self, id_token: str) -> str:
        """The configured claim of a valid ID token. May fetch the provider's keys: call it off the
        event loop. `IdentityProviderUnavailable` when they cannot be fetched."""
        if len(id_token) > _MAX_TOKEN_BYTES:
            raise SubjectNotVerified("the identity token is too long")
        try:
            header = jwt.get_unverified_header(id_token)
        except jwt.PyJWTError:
            raise SubjectNotVerified("the identity token is malformed") from None
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in ALLOWED_ALGORITHMS:
            raise SubjectNotVerified("the identity token's algorithm is not accepted")
        if not isinstance(kid, str):
            raise SubjectNotVerified("the identity token names no key")
        if str(header.get("typ", "JWT")).lower() in ("at+jwt", "application/at+jwt"):
            raise SubjectNotVerified("an access token is not an identity token")
        try:
            key = self._jwks.get_signing_key(kid)
        except PyJWKClientConnectionError:
            raise IdentityProviderUnavailable("the identity provider's keys could not be fetched") from None
        except jwt.PyJWTError:
            raise SubjectNotVerified("no key of the identity provider has that kid") from None
        if key.algorithm_name != alg:
            raise SubjectNotVerified("the identity token's algorithm does not match its key")
        claims = self._decode(id_token, key.key, alg)
        return self._claim(claims)

    def subject_for(self, regions: Regions, central: Connection, value: str) -> str:
        """The one subject, in any region, whose field holds `value`; `SubjectNotVerified` for
        none or several."""
        try:
            found = match_anywhere(regions, central, self.settings.subject_field, value)
            match = found[1] if found else None
        except InvalidRequest:  # the claim is not a valid value of the field
            match = None
        if match is None:
            raise SubjectNotVerified("no single subject matches the identity token")
        return match.subject_id

    def _decode(self, id_token: str, key: Any, alg: str) -> dict[str, Any]:
        settings = self.settings
        try:
            claims: dict[str, Any] = jwt.decode(
                id_token,
                key,
                algorithms=[alg],
                audience=settings.audience,
                issuer=settings.issuer,
                options={
                    "require": ["exp", "iat", "iss", "aud", "sub"],
                    # Time is checked below, against our clock.
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except (jwt.PyJWTError, ValueError, TypeError):
            raise SubjectNotVerified("the identity token's signature or claims are not valid") from None
        now = self._clock.timestamp()
        exp, iat, nbf = claims["exp"], claims["iat"], claims.get("nbf", 0)
        if not all(isinstance(t, int | float) and not isinstance(t, bool) for t in (exp, iat, nbf)):
            raise SubjectNotVerified("the identity token's times are not numbers")
        if exp <= now - _LEEWAY_SECONDS:
            raise SubjectNotVerified("the identity token has expired")
        if iat > now + _LEEWAY_SECONDS or nbf > now + _LEEWAY_SECONDS:
            raise SubjectNotVerified("the identity token is not valid yet")
        if iat < now - _MAX_AGE_SECONDS:  # a sign-in is fresh: an old token is a replayed one
            raise SubjectNotVerified("the identity token was issued too long ago")
        aud = claims["aud"]
        if isinstance(aud, list) and len(aud) > 1 and claims.get("azp") != settings.audience:
            raise SubjectNotVerified("the identity token was issued to another party (azp)")
        return claims

    def _claim(self, claims: dict[str, Any]) -> str:
        name = self.settings.claim
        value = claims.get(name)
        if not isinstance(value, str) or not value:
            raise SubjectNotVerified(f"the identity token has no {name} claim")
        flag = _VERIFIED_FLAG.get(name, f"{name}_verified")
        if claims.get(flag) is not True:  # an unverified claim proves nothing, whatever its name
            raise SubjectNotVerified(f"the identity provider has not verified the {name} claim")
        return value
