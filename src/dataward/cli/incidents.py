"""`dataward incidents`: the breach register (Art. 33) from the command line, audited as `cli`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from dataward.audit import AuditAction, AuditEvent, Outcome
from dataward.cli._common import DirOption, JsonOption, console, emit, open_vault
from dataward.cli._sizing import parse_time, print_reach
from dataward.incidents import IncidentRegister
from dataward.incidents.schemas import ClockView, IncidentList, IncidentView
from dataward.incidents.service import changes
from dataward.services import Vault
from dataward.storage import read_connection, write_transaction

app = typer.Typer(
    help="The breach register: open incidents, watch the 72-hour clock, size a breach from the audit "
    "log.\n\nExample: dataward incidents open --title 'Leaked token' --client dw_abc "
    "--from 2026-03-01T00:00Z --to 2026-03-02T00:00Z",
    no_args_is_help=True,
)

IncidentId = Annotated[str, typer.Argument(help="The incident's id.")]


@app.command("open")
def open_incident(
    title: Annotated[str, typer.Option("--title", help="What happened, in a few words.")],
    start: Annotated[str, typer.Option("--from", help="Start of the access window (ISO 8601, with a zone).")],
    end: Annotated[str, typer.Option("--to", help="End of the access window (ISO 8601, with a zone).")],
    client_id: Annotated[str | None, typer.Option("--client", help="The client in question.")] = None,
    token_id: Annotated[str | None, typer.Option("--token", help="The token (jti) in question.")] = None,
    aware_at: Annotated[
        str | None, typer.Option("--aware-at", help="When you became aware (default: now).")
    ] = None,
    description: Annotated[
        str | None, typer.Option("--description", help="Facts and measures taken; no personal data.")
    ] = None,
    directory: DirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Open an incident: start its 72-hour notification clock and size it from the audit log.

    Example: dataward incidents open --title Leak --client dw_x --from 2026-03-01T00:00Z --to 2026-03-02T12Z
    """
    window_from, window_to = parse_time("--from", start), parse_time("--to", end)
    aware = parse_time("--aware-at", aware_at) if aware_at else None
    vault = open_vault(directory)
    try:
        register = _register(vault)
        incident = register.draft(
            title=title, description=description, client_id=client_id, token_id=token_id,
            window_from=window_from, window_to=window_to, aware_at=aware, opened_by="cli",
        )  # fmt: skip
        _audit(vault, AuditAction.INCIDENT_OPEN, f"incident {incident.id}")
        with write_transaction(vault.engine) as connection:
            register.add(connection, incident)
        with read_connection(vault.engine) as connection:
            view = IncidentView.of(incident, register.clock(incident), register.size(connection, incident))
    finally:
        vault.close()
    _print(view, as_json)


@app.command("show")
def show(
    incident_id: IncidentId,
    subject_ids: Annotated[bool, typer.Option("--subjects", help="Also list the subjects' ids.")] = False,
    directory: DirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show an incident: its clock, and its size recomputed from the audit log.

    Example: dataward incidents show 3b1f0c2e-5d7a-4c1e-9f3b-2a6d8e4c1b7f --json
    """
    vault = open_vault(directory)
    try:
        register = _register(vault)
        with read_connection(vault.engine) as connection:
            incident = register.get(connection, incident_id)
            sizing = register.size(connection, incident, subject_ids=subject_ids)
        suffix = " with subject ids" if subject_ids else ""
        _audit(vault, AuditAction.INCIDENT_READ, f"incident {incident.id}{suffix}")
        view = IncidentView.of(incident, register.clock(incident), sizing)
    finally:
        vault.close()
    _print(view, as_json)


@app.command("list")
def list_incidents(directory: DirOption = None, as_json: JsonOption = False) -> None:
    """List incidents: open ones first, the nearest deadline first.

    Example: dataward incidents list --json
    """
    vault = open_vault(directory)
    try:
        register = _register(vault)
        with read_connection(vault.engine) as connection:
            found = register.list(connection)
        _audit(vault, AuditAction.INCIDENT_READ, f"list: {len(found)} incident(s)")
        views = IncidentList(incidents=[IncidentView.of(i, register.clock(i)) for i in found])
    finally:
        vault.close()
    if as_json:
        emit(True, views.model_dump(mode="json"), "")
        return
    table = Table("status", "title")
    table.add_column("deadline", no_wrap=True)
    table.add_column("clock")
    table.add_column("id", no_wrap=True)
    for v in views.incidents:
        table.add_row(v.status, escape(v.title), _when(v.clock.deadline), _clock_text(v.clock), v.id)
    console.print(table)


@app.command("update")
def update(
    incident_id: IncidentId,
    notified_at: Annotated[
        str | None, typer.Option("--notified-at", help="When the supervisory authority was told.")
    ] = None,
    closed: Annotated[
        bool | None,
        typer.Option("--close/--reopen", help="Close or reopen the incident.", show_default=False),
    ] = None,
    directory: DirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Record when the supervisory authority was notified; close or reopen an incident.

    Example: dataward incidents update 3b1f0c2e-5d7a-4c1e-9f3b-2a6d8e4c1b7f --notified-at 2026-03-02T10:00Z
    """
    notified = parse_time("--notified-at", notified_at) if notified_at else None
    vault = open_vault(directory)
    try:
        register = _register(vault)
        with read_connection(vault.engine) as connection:
            before = register.get(connection, incident_id)
        after = register.revise(before, notified_at=notified, closed=closed)
        _audit(vault, AuditAction.INCIDENT_UPDATE, f"incident {before.id}: {changes(before, after)}")
        with write_transaction(vault.engine) as connection:
            register.save(connection, before, after)
        view = IncidentView.of(after, register.clock(after))
    finally:
        vault.close()
    _print(view, as_json)


def _register(vault: Vault) -> IncidentRegister:
    return IncidentRegister(vault.policy, vault.clock)


def _audit(vault: Vault, action: AuditAction, reason: str) -> None:
    """Audit first, as the API does; the reason names the incident, never a subject."""
    vault.audit.record_sync(AuditEvent(action, "cli", Outcome.ALLOWED, reason=reason))


def _clock_text(clock: ClockView) -> str:
    if clock.stopped_at is not None:
        return f"stopped {_when(clock.stopped_at)}" + (" [red](late)[/]" if clock.overdue else "")
    if clock.overdue:
        return "[red]OVERDUE[/]"
    hours, rest = divmod(clock.seconds_remaining or 0, 3600)
    return f"{hours}h {rest // 60:02d}m left"


def _when(moment: datetime) -> str:
    """A time for people: UTC, to the second."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _print(view: IncidentView, as_json: bool) -> None:
    if as_json:
        emit(True, view.model_dump(mode="json"), "")
        return
    console.print(f"[bold]{escape(view.title)}[/] ({view.status})  id {view.id}", highlight=False)
    who = ", ".join(f"{k} {v}" for k, v in (("client", view.client_id), ("token", view.token_id)) if v)
    console.print(f"access by {who}, {_when(view.window_from)} to {_when(view.window_to)}", highlight=False)
    clock = f"deadline {_when(view.clock.deadline)}, {_clock_text(view.clock)}"
    console.print(f"aware {_when(view.aware_at)}; {clock}", highlight=False)
    if view.sizing is not None:
        sizing = view.sizing
        print_reach(console, sizing.affected_subjects, sizing.fields, sizing.actions)
        console.print(f"{sizing.attempts} refused attempt(s) reached nothing")
        if sizing.subject_ids is not None:
            console.print("\n".join(sizing.subject_ids), highlight=False)
