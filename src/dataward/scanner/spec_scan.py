"""`scan spec`: read an OpenAPI document (a file, or a URL given on purpose) and run every spec
rule over it."""

from __future__ import annotations

from pathlib import Path

import httpx

from dataward.scanner.document import SpecDocument, SpecUnreadable, parse_document
from dataward.scanner.findings import Finding
from dataward.scanner.results import ScanResult
from dataward.scanner.spec_rules import ALL_CHECKS, Context
from dataward.scanner.suppressions import ScanConfig

__all__ = ["MAX_DOCUMENT_BYTES", "load_document", "scan_document"]

MAX_DOCUMENT_BYTES = 50 * 1024 * 1024


def load_document(source: str, *, timeout: float = 30.0) -> SpecDocument:
    """Read the document at `source`: an `http(s)://` URL, or a path."""
    if source.startswith(("http://", "https://")):
        try:
            with httpx.stream("GET", source, timeout=timeout, follow_redirects=True) as response:
                if response.status_code != 200:
                    raise SpecUnreadable(f"{source} answered {response.status_code}")
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > MAX_DOCUMENT_BYTES:
                        raise SpecUnreadable(f"{source} is larger than {MAX_DOCUMENT_BYTES // 2**20} MB")
        except httpx.HTTPError as exc:
            raise SpecUnreadable(f"cannot fetch {source}: {type(exc).__name__}") from None
        text = body.decode("utf-8", errors="replace")
    else:
        path = Path(source)
        try:
            if path.stat().st_size > MAX_DOCUMENT_BYTES:
                raise SpecUnreadable(f"{source} is larger than {MAX_DOCUMENT_BYTES // 2**20} MB")
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise SpecUnreadable(f"cannot read {source}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise SpecUnreadable(f"{source} is not UTF-8 text") from None
    return parse_document(text, source)


def scan_document(document: SpecDocument, config: ScanConfig | None = None) -> ScanResult:
    context = Context(document)
    findings: list[Finding] = []
    seen: set[tuple[str, str, str]] = set()
    for check in ALL_CHECKS:
        for finding in check(context):
            key = (finding.rule.id, finding.location.pointer, str(finding.evidence.get("key", "")))
            if key not in seen:  # a schema shared by many operations is one finding
                seen.add(key)
                findings.append(finding)
    for pointer, ref in document.unresolved:
        findings.append(
            context.finding(
                "SPEC-UNRESOLVED-REF", f"`$ref: {ref}` cannot be followed in this document", pointer
            )
        )
    findings.sort(key=lambda f: (-f.level, f.rule.id, f.location.line or 0, f.location.pointer))
    kept, silenced = (config or ScanConfig()).split(findings)
    raw_info = document.data.get("info")
    info: dict[str, object] = raw_info if isinstance(raw_info, dict) else {}
    return ScanResult(
        kind="spec",
        target=document.source,
        findings=kept,
        suppressed=silenced,
        details={
            "title": str(info.get("title", "")),
            "version": str(info.get("version", "")),
            "openapi": document.dialect,
            "operations": len(context.operations),
        },
    )
