"""What goes in and out of an operation, property by property (API3): bodies that take more than
they declare, privileges a caller may set, secrets and personal data sent without a purpose."""

from __future__ import annotations

from collections.abc import Iterator

from dataward.scanner.document import Media, Operation
from dataward.scanner.fields import FieldKind, is_special_category
from dataward.scanner.findings import Finding, Severity
from dataward.scanner.schemas import properties, subschemas, types_of
from dataward.scanner.spec_rules._context import Context, is_success
from dataward.scanner.words import is_admin_path, is_login_path, is_privileged_property

__all__ = ["CHECKS", "success_media"]

_WRITES = frozenset({"POST", "PUT", "PATCH"})
# What a sign-in or token operation is there to hand out.
_TOKEN_ANSWERS = frozenset({"access_token", "refresh_token", "id_token", "token", "session_token"})


def success_media(operation: Operation) -> list[Media]:
    return [m for r in operation.responses if is_success(r.status) for m in r.media]


def _json_bodies(operation: Operation) -> list[Media]:
    return [m for m in operation.bodies if "json" in m.media_type or m.media_type.endswith("+json")]


def mass_assignment(ctx: Context) -> Iterator[Finding]:
    for operation in ctx.operations:
        if operation.method not in _WRITES:
            continue
        for body in _json_bodies(operation):
            for schema, pointer in subschemas(ctx.document, body.schema, body.pointer):
                is_object = "object" in types_of(schema) or "properties" in schema
                if not is_object or schema.get("readOnly") is True:
                    continue
                closed = schema.get("additionalProperties") not in (None, True) or schema.get(
                    "unevaluatedProperties"
                ) not in (None, True)
                if not closed and not _closed_by_combinator(schema):
                    yield ctx.finding(
                        "API3-MASS-ASSIGNMENT",
                        f"the body of {operation.label} accepts properties it does not declare",
                        pointer,
                        operation,
                    )


def _closed_by_combinator(schema: dict[str, object]) -> bool:
    """`allOf` parts are judged on their own; an object built only from them is as open as they are."""
    return "properties" not in schema and any(k in schema for k in ("allOf", "oneOf", "anyOf"))


def privileged_properties(ctx: Context) -> Iterator[Finding]:
    for operation in ctx.operations:
        if operation.method not in _WRITES:
            continue
        if is_admin_path(operation.path, operation.operation_id, operation.tags):
            continue  # setting roles is what admin operations are for
        for body in _json_bodies(operation):
            for prop in properties(ctx.document, body.schema, body.pointer):
                if is_privileged_property(prop.name) and prop.schema.get("readOnly") is not True:
                    yield ctx.finding(
                        "API3-PRIVILEGED-PROPERTY",
                        f"the body of {operation.label} lets the caller set `{prop.name}`",
                        prop.declared_at,
                        operation,
                        evidence={"key": prop.name},
                    )


def exposure(ctx: Context) -> Iterator[Finding]:
    """Secrets in any answer; personal data in answers of operations that declare no purpose."""
    for operation in ctx.operations:
        media = success_media(operation)
        personal = []
        for item in ctx.personal_properties(media, sent=True):
            name = item.property.name
            if item.kind is FieldKind.SECRET:
                if is_login_path(operation.path) and name.lower() in _TOKEN_ANSWERS:
                    continue
                yield ctx.finding(
                    "API3-SECRET-IN-RESPONSE",
                    f"{operation.label} answers with `{name}`",
                    item.property.declared_at,
                    operation,
                    evidence={"key": name},
                )
            elif item.kind is None or not is_special_category(item.kind):  # Art. 9: see gdpr.py
                personal.append(item)
        if personal and operation.purpose is None:
            kinds = sorted({p.kind.value if p.kind else "x-pii" for p in personal})
            names = sorted({p.property.name for p in personal})
            sensitive = {FieldKind.NATIONAL_ID, FieldKind.FINANCIAL} & {p.kind for p in personal}
            yield ctx.finding(
                "API3-PERSONAL-DATA-NO-PURPOSE",
                f"{operation.label} answers with personal data ({', '.join(kinds)}: "
                f"{', '.join(names[:8])}{', ...' if len(names) > 8 else ''}) and declares no purpose",
                operation.pointer,
                operation,
                severity=Severity.HIGH if sensitive else None,
                evidence={"fields": names, "kinds": kinds},
            )


CHECKS = (mass_assignment, privileged_properties, exposure)
