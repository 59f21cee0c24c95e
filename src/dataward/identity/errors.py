"""Errors of the identity domain. OAuth errors carry the RFC 6749 `error` code as well."""

from __future__ import annotations

from dataward.errors import DatawardError

__all__ = ["AuthenticationFailed", "InvalidClient", "InvalidToken", "OAuthError"]


class AuthenticationFailed(DatawardError):
    status = 401
    slug = "unauthenticated"
    title = "Authentication failed"
    challenge = 'Bearer realm="dataward"'


class InvalidToken(AuthenticationFailed):
    """The bearer token is missing, malformed, expired, or not ours. One message for every case."""

    slug = "invalid-token"
    title = "The access token is not valid"
    challenge = 'Bearer realm="dataward", error="invalid_token"'


class OAuthError(DatawardError):
    """An RFC 6749 section 5.2 error at the token endpoint."""

    status = 400
    slug = "oauth-error"
    title = "The token request failed"

    def __init__(self, error: str, detail: str) -> None:
        super().__init__(detail, error=error)
        self.error = error


class InvalidClient(OAuthError):
    status = 401
    challenge = 'Basic realm="dataward"'

    def __init__(self) -> None:
        super().__init__("invalid_client", "unknown client or wrong secret")
