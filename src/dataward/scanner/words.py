"""Words that tell what a path, an operation or a parameter is for, by name: admin functions,
internal and debug paths, exports, URLs to fetch, privileged properties, page sizes and login.
Personal data is recognised by `fields`; these are the API's own vocabulary."""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = [
    "is_admin_path",
    "is_export_path",
    "is_internal_path",
    "is_login_path",
    "is_own_path",
    "is_page_size",
    "is_privileged_property",
    "is_public_by_nature",
    "is_sign_in_path",
    "is_url_name",
    "name_tokens",
    "path_segments",
    "version_of",
]

_ADMIN = frozenset({"admin", "admins", "administration", "administrator", "manage", "management",
                    "superuser", "sudo", "staff", "backoffice", "root", "ops"})  # fmt: skip
_INTERNAL = frozenset({"debug", "internal", "test", "tests", "testing", "dev", "devel", "staging",
                       "private", "tmp", "temp", "sandbox", "actuator", "phpinfo", "trace", "dump",
                       "_debug", "__debug__", "console", "metrics-internal", "legacy", "old",
                       "deprecated", "beta", "experimental"})  # fmt: skip
_EXPORT = frozenset({"export", "exports", "dump", "bulk", "backup", "download", "all", "extract",
                     "everything", "full"})  # fmt: skip
_LOGIN = frozenset({"login", "logon", "signin", "sign-in", "authenticate", "auth", "token", "tokens",
                    "oauth", "oauth2", "session", "sessions", "register", "signup", "sign-up",
                    "password-reset", "forgot-password", "reset-password"})  # fmt: skip
# Operations any API may leave open: health checks, its own documents, key sets.
_PUBLIC = frozenset({"health", "healthz", "livez", "readyz", "ready", "status", "ping", "version",
                     "openapi.json", "openapi.yaml", "openapi", "docs", "redoc", "swagger",
                     "swagger.json", "jwks", "jwks.json", ".well-known"})  # fmt: skip
_PRIVILEGED = frozenset({"admin", "is_admin", "isadmin", "role", "roles", "is_superuser", "superuser",
                         "is_staff", "staff", "permissions", "permission", "scopes", "scope",
                         "privileges", "groups", "verified", "is_verified", "email_verified",
                         "approved", "is_approved", "owner", "owner_id", "user_id", "account_id",
                         "tenant_id", "org_id", "balance", "credit", "credits", "price",
                         "discount", "plan", "tier", "status", "is_active", "active", "banned",
                         "locked", "trusted", "internal", "access_level", "level"})  # fmt: skip
_URL_TOKENS = frozenset({"url", "uri", "href", "link", "callback", "webhook", "redirect", "return",
                         "next", "target", "dest", "destination", "endpoint", "feed", "proxy",
                         "image", "avatar", "icon", "fetch", "domain", "host", "site"})  # fmt: skip
# Alone, these name a URL; `host`, `domain`, `next` or `target` alone name many other things.
_URL_ALONE = frozenset({"url", "uri", "href", "link", "callback", "webhook", "redirect", "endpoint",
                        "feed", "proxy", "dest", "destination", "return_to", "returnto", "goto"})  # fmt: skip
_PAGE_SIZE = frozenset({"limit", "page_size", "pagesize", "per_page", "perpage", "size", "count",
                        "top", "first", "last", "max", "max_results", "maxresults", "take",
                        "page_limit", "batch_size", "rows", "n"})  # fmt: skip
_VERSION = re.compile(r"^v(\d+)(?:\.\d+)?$")
_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


@lru_cache(maxsize=16384)
def name_tokens(name: str) -> tuple[str, ...]:
    """`callbackURL` -> ("callback", "url"); `redirect_uri` -> ("redirect", "uri")."""
    return tuple(t.lower() for t in _SPLIT.split(name) if t)


def path_segments(path: str) -> list[str]:
    """The literal segments of a path template, lower case, parameters left out."""
    return [s.lower() for s in path.split("/") if s and not s.startswith("{")]


def _segment_words(path: str) -> set[str]:
    words: set[str] = set()
    for segment in path_segments(path):
        words.add(segment)
        words.update(re.split(r"[-_.]", segment))
    return words


def is_admin_path(path: str, operation_id: str = "", tags: tuple[str, ...] = ()) -> bool:
    if _segment_words(path) & _ADMIN:
        return True
    names = {*name_tokens(operation_id), *(t.lower() for tag in tags for t in name_tokens(tag))}
    return bool(names & {"admin", "administration", "superuser"})


def is_internal_path(path: str) -> str | None:
    """The internal-looking word in the path, if any."""
    hit = sorted(_segment_words(path) & _INTERNAL)
    return hit[0] if hit else None


def is_export_path(path: str, operation_id: str = "") -> bool:
    return bool(_segment_words(path) & _EXPORT) or bool(set(name_tokens(operation_id)) & {"export", "dump"})


def is_login_path(path: str) -> bool:
    return bool(_segment_words(path) & _LOGIN)


# Paths under login words that create accounts or send mail: never burst or probe them as sign-ins.
_ACCOUNT_MAKING = frozenset({"register", "signup", "sign-up", "reset", "forgot", "password-reset",
                             "forgot-password", "reset-password"})  # fmt: skip
# The caller's own resource: `/users/me`, `/profile`.
_OWN = frozenset({"me", "self", "my", "myself", "current", "whoami", "profile", "account"})


def is_sign_in_path(path: str) -> bool:
    """A login that only checks credentials (not one that registers or resets)."""
    return is_login_path(path) and not (_segment_words(path) & _ACCOUNT_MAKING)


def is_own_path(path: str) -> bool:
    """A path that names the caller's own resource by its last word (`/users/me`, `/account`)."""
    segments = path_segments(path)
    return bool(segments) and segments[-1] in _OWN


def is_public_by_nature(path: str) -> bool:
    """Health checks, documentation and key sets: open by design, and harmless so."""
    segments = path_segments(path)
    return (bool(segments) and segments[-1] in _PUBLIC) or bool(set(segments) & {".well-known"})


def is_privileged_property(name: str) -> bool:
    tokens = name_tokens(name)
    return "_".join(tokens) in _PRIVILEGED or "".join(tokens) in _PRIVILEGED


def is_url_name(name: str) -> bool:
    """A parameter or property that, by its name, takes a URL the server may fetch or send to."""
    tokens = name_tokens(name)
    if not tokens:
        return False
    if "_".join(tokens) in _URL_ALONE or "".join(tokens) in _URL_ALONE:
        return True
    return (tokens[-1] in {"url", "uri", "href", "link", "callback", "webhook"} and len(tokens) > 1) or (
        tokens[0] in {"callback", "webhook", "redirect"} and bool(set(tokens) & _URL_TOKENS)
    )


def is_page_size(name: str) -> bool:
    tokens = name_tokens(name)
    return "_".join(tokens) in _PAGE_SIZE or "".join(tokens) in _PAGE_SIZE


def version_of(path: str) -> int | None:
    """The API version a path names in its first segments (`/v1/...`, `/api/v2/...`)."""
    for segment in path_segments(path)[:3]:
        if match := _VERSION.match(segment):
            return int(match.group(1))
    return None
