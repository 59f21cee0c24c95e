"""Errors of the identity domain. OAuth errors carry the RFC 6749 `error` code as well."""

from __future__ import annotations

from dataward.errors import DatawardError

__all__ = [
    "AuthenticationFailed",
    "IdentityProviderUnavailable",
    "InvalidClient",
    "InvalidToken",
    "NotificationFailed",
    "OAuthError",
    "SubjectNotVerified",
]


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


class SubjectNotVerified(AuthenticationFailed):
    """A data subject's proof was not accepted: a wrong, used, expired or unknown code, too many
    attempts, or an ID token that is forged, expired, from another issuer or matches no single
    subject. One answer for every case, so that none tells an attacker more than another.

    `reason` and `subject_id` are for the audit log only; the response carries neither."""

    slug = "subject-not-verified"
    title = "The proof of identity was not accepted"

    def __init__(self, reason: str, subject_id: str | None = None) -> None:
        super().__init__("the code or identity token was not accepted")
        self.reason = reason
        self.subject_id = subject_id


class IdentityProviderUnavailable(DatawardError):
    """The OpenID Connect provider's keys could not be fetched; try again later."""

    status = 503
    slug = "identity-provider-unavailable"
    title = "The identity provider is unavailable"


class NotificationFailed(DatawardError):
    """A one-time code could not be handed to the mail server or webhook. Never shown to the
    caller (that would tell who is in the vault): it is logged, without recipient or code."""

    slug = "notification-failed"
    title = "The code could not be sent"
