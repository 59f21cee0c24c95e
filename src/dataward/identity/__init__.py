"""Identity: registered clients (and their suspension), OAuth 2.0 tokens (client credentials, rotated
refresh tokens in `refresh`, token exchange in `exchange`, revocation and introspection in
`oauth_routes`), the JWKS that verifies them, and how a data subject signs in (one-time codes in
`challenges`, OpenID Connect in `oidc`, `/v1/me`)."""

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
