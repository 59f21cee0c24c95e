"""Identity: registered clients, OAuth 2.0 client-credentials tokens, the JWKS that verifies them, and
how a data subject signs in (one-time codes in `challenges`, OpenID Connect in `oidc`, `/v1/me`)."""

from dataward.identity.clients import ClientRecord, ClientRegistry, NewClient
from dataward.identity.errors import AuthenticationFailed, InvalidClient, InvalidToken, OAuthError
from dataward.identity.tokens import IssuedToken, Principal, TokenIssuer, TokenVerifier

__all__ = [
    "AuthenticationFailed",
    "ClientRecord",
    "ClientRegistry",
    "InvalidClient",
    "InvalidToken",
    "IssuedToken",
    "NewClient",
    "OAuthError",
    "Principal",
    "TokenIssuer",
    "TokenVerifier",
]
