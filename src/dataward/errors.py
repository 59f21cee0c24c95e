"""The one error tree of Dataward.

Every error that Dataward raises on purpose derives from `DatawardError`. Each domain adds its own
subclasses in its `errors.py`; exactly one HTTP handler (`dataward.api.problems`) turns them into
RFC 9457 problem+json, and the CLI prints them as one line. Messages never carry personal data:
they name fields, paths and ids, never values.

    DatawardError
    ├── InvalidRequest (422)        a request body or parameter is malformed
    ├── NotFound (404)              the thing does not exist, or the caller may not know it exists
    ├── Conflict (409)
    ├── AuthenticationFailed (401)  identity.errors: bad credentials or token
    ├── Forbidden (403)             access.errors: the decision point said no
    ├── PolicyError                 policy.errors: the policy file is invalid (lists every problem)
    ├── KeyringError                keys.errors: a key is missing, or a ciphertext failed to open
    │   └── IntegrityError          a ciphertext was tampered with or moved
    └── AuditUnavailable (503)      audit.errors: the audit entry could not be made durable
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Conflict", "DatawardError", "InvalidRequest", "NotFound", "Problem", "format_path"]


class DatawardError(Exception):
    """The root of every error Dataward raises on purpose."""

    status: int = 500
    slug: str = "internal-error"
    title: str = "Internal error"

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extensions: dict[str, Any] = extensions


class InvalidRequest(DatawardError):
    """A request is malformed; `errors` lists each problem by path."""

    status = 422
    slug = "invalid-request"
    title = "The request is not valid"

    def __init__(self, detail: str, errors: Sequence[Problem] = ()) -> None:
        super().__init__(detail, errors=[p.as_dict() for p in errors])
        self.errors = list(errors)


class NotFound(DatawardError):
    status = 404
    slug = "not-found"
    title = "Not found"


class Conflict(DatawardError):
    status = 409
    slug = "conflict"
    title = "Conflict"


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem at one path, such as `purposes.marketing.fields[1]: unknown field profile.mail`."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message

    def as_dict(self) -> Mapping[str, str]:
        return {"path": self.path, "message": self.message}


def format_path(loc: Sequence[str | int]) -> str:
    """Render a location tuple as `purposes.marketing.fields[1]`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out
