"""`dataward keys`: rotate and retire key-encryption keys."""

from __future__ import annotations

from typing import Annotated

import typer

from dataward.audit import AuditAction, AuditEvent, Outcome
from dataward.cli._common import DirOption, JsonOption, emit, err_console, open_vault, progress_bar
from dataward.services import Vault
from dataward.subjects.regions import RegionStore

RegionOption = Annotated[
    str | None,
    typer.Option(
        "--region", help="The region whose keys to use (default: the default region).", show_default=False
    ),
]

app = typer.Typer(
    help="Rotate and retire key-encryption keys.\n\nExample: dataward keys rotate --dir ./vault",
    no_args_is_help=True,
)


@app.command("rotate")
def rotate(directory: DirOption = None, region: RegionOption = None, as_json: JsonOption = False) -> None:
    """Add a new key-encryption key and rewrap every subject's data key under it, online and
    without re-encrypting any data. Older keys keep decrypting until retired.

    Example: dataward keys rotate --dir ./vault
    """
    vault = open_vault(directory)
    try:
        store = _store(vault, region)
        old = store.keyring.active_kek_id
        new = store.keyring.rotate()
        vault.audit.record_sync(
            AuditEvent(AuditAction.KEK_ROTATE, "cli", Outcome.ALLOWED, reason=f"{store.name}: {old} -> {new}")
        )
        total = store.key_store.count_wrapped_under(exclude=new)
        with progress_bar("rewrapping data keys", total, disable=as_json) as advance:
            done = store.key_store.rewrap(progress=advance)
    finally:
        vault.close()
    emit(
        as_json,
        {"active_kek": new, "previous_kek": old, "rewrapped": done},
        f"[green]rotated[/] {old} -> {new}; rewrapped {done} data key(s). "
        f"Retire {old} with `dataward keys retire {old}` when you no longer need it.",
    )


@app.command("retire")
def retire(
    kek_id: Annotated[str, typer.Argument(help="The key-encryption key to retire, such as kek-1.")],
    directory: DirOption = None,
    region: RegionOption = None,
    as_json: JsonOption = False,
) -> None:
    """Stop an old key-encryption key from unwrapping; refused while any data key still uses it.

    Example: dataward keys retire kek-1
    """
    vault = open_vault(directory)
    try:
        store = _store(vault, region)
        in_use = store.key_store.count_wrapped_under([kek_id])
        if in_use:
            err_console.print(
                f"[red]error:[/] {in_use} data key(s) still use {kek_id}; run `dataward keys rotate`"
            )
            raise typer.Exit(1)
        store.keyring.retire(kek_id)
        reason = f"{store.name}: {kek_id}"
        vault.audit.record_sync(AuditEvent(AuditAction.KEK_RETIRE, "cli", Outcome.ALLOWED, reason=reason))
    finally:
        vault.close()
    emit(as_json, {"retired": kek_id}, f"[green]retired[/] {kek_id}")


def _store(vault: Vault, region: str | None) -> RegionStore:
    name = region or vault.policy.default_region
    if name not in vault.policy.regions:
        err_console.print(f"[red]error:[/] the policy has no region {name}")
        raise typer.Exit(2)
    return vault.regions.store(name)
