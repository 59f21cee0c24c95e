"""Who a bearer token speaks for: verified by our own keys or, failing that, by the policy's
identity providers, and refused when it, its family or its client was revoked. Shared by the
vault's routes and the gateway."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from dataward.guard.revocations import Revocations
from dataward.identity.errors import InvalidToken
from dataward.identity.external import ExternalTokenVerifier
from dataward.identity.tokens import Principal, TokenVerifier

__all__ = ["BearerAuthenticator"]


@dataclass(frozen=True, slots=True)
class BearerAuthenticator:
    verifier: TokenVerifier
    external: ExternalTokenVerifier | None
    own_keys: Callable[[], Mapping[str, Ed25519PublicKey]]
    revocations: Revocations

    async def authenticate(self, token: str) -> Principal:
        principal = await self._verified(token)
        if await self.revocations.is_revoked(principal):
            raise InvalidToken("the access token has been revoked")
        return principal

    async def _verified(self, token: str) -> Principal:
        """Our own verifier first, so our own tokens cost what they did (a cache hit); a token it
        refuses goes to the identity providers, unless its header names a key of ours."""
        try:
            return self.verifier.verify(token)
        except InvalidToken:
            if self.external is None or self._names_our_key(token):
                raise
            return await self.external.verify(token)  # picks the provider by the token's `iss`

    def _names_our_key(self, token: str) -> bool:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError:
            return True  # not a JWT: nothing for a provider either, and our refusal says so
        return isinstance(kid, str) and kid in self.own_keys()
