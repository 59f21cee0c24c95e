"""What every spec rule is given: the document, its operations, and one way to make a finding."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from dataward.scanner.catalogue import rule
from dataward.scanner.document import Media, Operation, SpecDocument
from dataward.scanner.fields import FieldKind, classify_field
from dataward.scanner.findings import Finding, Location, Severity
from dataward.scanner.schemas import Property, properties

__all__ = ["Check", "Context", "PersonalProperty", "is_success"]


@dataclass(frozen=True, slots=True)
class PersonalProperty:
    """A property that holds personal data, by its name or its `x-pii` mark."""

    property: Property
    kind: FieldKind | None  # None: marked `x-pii`, its name says nothing


@dataclass
class Context:
    document: SpecDocument
    # (schema pointer, sent) -> its personal properties: several rules ask about the same bodies
    _personal: dict[tuple[str, bool], tuple[PersonalProperty, ...]] = field(default_factory=dict, repr=False)

    @cached_property
    def operations(self) -> list[Operation]:
        """The operations callers call (callbacks and webhooks are the API calling out)."""
        return [o for o in self.document.operations if not o.is_callback]

    def finding(
        self,
        rule_id: str,
        message: str,
        pointer: str,
        operation: Operation | None = None,
        *,
        severity: Severity | None = None,
        evidence: dict[str, Any] | None = None,
    ) -> Finding:
        where = Location(
            pointer=pointer,
            line=self.document.line_of(pointer),
            method=operation.method if operation else None,
            path=operation.path if operation else None,
        )
        return Finding(rule(rule_id), message, where, severity, evidence or {})

    def personal_properties(self, media: Iterable[Media], *, sent: bool) -> Iterator[PersonalProperty]:
        """Personal properties of these bodies: what the server sends (`sent`: responses,
        callbacks) leaves out `writeOnly` ones, what it receives leaves out `readOnly` ones."""
        for item in media:
            key = (item.pointer, sent)
            found = self._personal.get(key)
            if found is None:
                found = self._personal[key] = tuple(
                    self._personal_in(item, "writeOnly" if sent else "readOnly")
                )
            yield from found

    def _personal_in(self, media: Media, skip: str) -> Iterator[PersonalProperty]:
        for prop in properties(self.document, media.schema, media.pointer):
            if prop.schema.get(skip) is True:
                continue
            match = classify_field(prop.name)
            if match is not None:
                yield PersonalProperty(prop, match.kind)
            elif prop.schema.get("x-pii") not in (None, False):
                yield PersonalProperty(prop, None)


def is_success(status: str) -> bool:
    return status.startswith("2") or status.upper() == "2XX"


Check = Callable[[Context], Iterable[Finding]]
