"""GDPR problems a spec shows: personal data in URLs (they are logged everywhere), special
categories without a declared purpose (Art. 9, 10), unbounded bulk exports, and personal data
sent out to callbacks (recipients: Art. 28, 44)."""

from __future__ import annotations

from collections.abc import Iterator

from dataward.scanner.fields import FieldKind, classify_field, is_direct_identifier, is_special_category
from dataward.scanner.findings import Finding
from dataward.scanner.spec_rules._context import Context
from dataward.scanner.spec_rules.properties import success_media
from dataward.scanner.spec_rules.resources import bounded_page_size
from dataward.scanner.words import is_export_path

__all__ = ["CHECKS"]


def personal_data_in_urls(ctx: Context) -> Iterator[Finding]:
    for operation in ctx.operations:
        for parameter in operation.parameters:
            if parameter.location not in ("path", "query"):
                continue
            match = classify_field(parameter.name)
            marked = parameter.schema.get("x-pii") not in (None, False)
            if (match is not None and _identifies(match.kind)) or marked:
                kind = match.kind.value if match is not None else "x-pii"
                yield ctx.finding(
                    "GDPR-PII-IN-URL",
                    f"{parameter.location} parameter `{parameter.name}` of {operation.label} puts "
                    f"personal data ({kind}) in the URL",
                    parameter.pointer,
                    operation,
                    evidence={"key": parameter.name},
                )


def _identifies(kind: FieldKind) -> bool:
    """Data that names a person or says something sensitive about them on its own; a postcode or
    an age in a search query does not (secrets in URLs are API2's finding)."""
    return is_direct_identifier(kind) or is_special_category(kind) or kind is FieldKind.BIRTH


def special_categories(ctx: Context) -> Iterator[Finding]:
    for operation in ctx.operations:
        if operation.purpose is not None:
            continue
        found = {
            item.property.name: item.kind
            for sent, media in ((True, success_media(operation)), (False, list(operation.bodies)))
            for item in ctx.personal_properties(media, sent=sent)
            if item.kind is not None and is_special_category(item.kind)
        }
        if found:
            names = sorted(found)
            kinds = sorted({k.value for k in found.values() if k is not None})
            yield ctx.finding(
                "GDPR-SPECIAL-CATEGORY",
                f"{operation.label} carries special-category or criminal data ({', '.join(kinds)}: "
                f"{', '.join(names)}) and declares no purpose",
                operation.pointer,
                operation,
                evidence={"fields": names, "kinds": kinds},
            )


def bulk_exports(ctx: Context) -> Iterator[Finding]:
    for operation in ctx.operations:
        if operation.method != "GET" or not is_export_path(operation.path, operation.operation_id):
            continue
        if bounded_page_size(operation):
            continue
        if any(True for _ in ctx.personal_properties(success_media(operation), sent=True)):
            yield ctx.finding(
                "GDPR-BULK-EXPORT",
                f"{operation.label} exports personal data with no bound on how much one call returns",
                operation.pointer,
                operation,
            )


def callbacks(ctx: Context) -> Iterator[Finding]:
    """Callbacks are reported at the operation that registers them; 3.1 webhooks at themselves."""
    sent = [(o, c) for o in ctx.operations for c in o.callbacks]
    sent += [(w, w) for w in ctx.document.operations if w.is_callback]
    for owner, callback in sent:
        names = sorted({p.property.name for p in ctx.personal_properties(callback.bodies, sent=True)})
        if names:
            yield ctx.finding(
                "GDPR-CALLBACK-PERSONAL-DATA",
                f"the callback {callback.label} sends personal data to its receiver ({', '.join(names)})",
                callback.pointer,
                owner,
                evidence={"fields": names},
            )


CHECKS = (personal_data_in_urls, special_categories, bulk_exports, callbacks)
