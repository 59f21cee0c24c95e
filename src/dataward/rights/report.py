"""What the subject receives: the Art. 15 access report and the Art. 20 export.

The report holds the subject's data and everything Art. 15(1) asks for, derived from the policy
(`dataward.policy.disclosure`). The export is all the data held about the subject, as JSON and as one CSV
file per collection, in one ZIP. Both open the subject's values directly: a subject's own access is
not processing that a restriction or an objection stops.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from dataward.access import subject_refusal
from dataward.consent import ConsentLedger
from dataward.policy import Policy
from dataward.policy.disclosure import subject_information
from dataward.spreadsheet import safe_cell
from dataward.subjects import SubjectService

__all__ = ["access_report", "portability_export"]


def access_report(
    connection: Connection,
    subject_id: str,
    *,
    subjects: SubjectService,
    consent: ConsentLedger,
    policy: Policy,
    now: datetime,
) -> dict[str, Any]:
    held = subjects.held(connection, subject_id)
    result = subjects.read(connection, subject_id, held)
    state = subjects.state(connection, subject_id)
    stopped: dict[str, str] = {}
    for name, purpose in policy.purposes.items():  # the decision point's own rule, purpose by purpose
        given = consent.status(connection, subject_id, name) if purpose.needs_consent else None
        refusal = subject_refusal(purpose, given, subjects.state(connection, subject_id, name))
        if refusal is not None:
            stopped[name] = refusal.value
    return {
        "subject_id": subject_id,
        "generated_at": now.isoformat(),
        "data": result.nested(),
        "withheld": [{"field": path, "reason": "integrity_error"} for path in result.integrity_failures],
        "restricted": state.restricted,
        "consent": [
            {
                "purpose": e.purpose,
                "event": e.event.value,
                "at": e.at.isoformat(),
                "notice_version": e.notice_version,
            }
            for e in consent.history(connection, subject_id)
        ],
        "information": subject_information(policy, held, stopped),
    }


def portability_export(report: dict[str, Any]) -> bytes:
    """A ZIP of `data.json` (every collection) and `<collection>.csv` (a header row, then a row
    per record)."""
    data: dict[str, Any] = report["data"]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        document = {"subject_id": report["subject_id"], "exported_at": report["generated_at"], "data": data}
        archive.writestr("data.json", json.dumps(document, indent=2, ensure_ascii=False))
        for collection, held in sorted(data.items()):
            rows = held if isinstance(held, list) else [held]  # many records, or one
            names = sorted({name for row in rows for name in row})
            text = io.StringIO()
            writer = csv.writer(text)
            writer.writerow(names)
            writer.writerows([_cell(row[name]) if name in row else "" for name in names] for row in rows)
            archive.writestr(f"{collection}.csv", text.getvalue())
    return buffer.getvalue()


def _cell(value: Any) -> str:
    return safe_cell(value) if isinstance(value, str) else json.dumps(value)
