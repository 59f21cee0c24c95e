"""`dataward policy check`: validate a policy file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from dataward.cli._common import JsonOption, console, emit, err_console
from dataward.policy import PolicyError, load_policy

app = typer.Typer(
    help="Work with the policy file (privacy as code).\n\nExample: dataward policy check examples/saas.yaml",
    no_args_is_help=True,
)


@app.command("check")
def check(
    file: Annotated[Path, typer.Argument(help="The policy file (YAML).")],
    as_json: JsonOption = False,
) -> None:
    """Validate a policy; exit 1 naming each problem's path, such as
    `purposes.marketing.fields[1]: unknown field profile.mail`.

    Example: dataward policy check examples/saas.yaml
    """
    try:
        policy = load_policy(file)
    except PolicyError as exc:
        if as_json:
            emit(True, {"valid": False, "problems": [p.as_dict() for p in exc.problems]}, "")
        else:
            err_console.print(f"[red]invalid[/] {escape(str(file))}")
            for problem in exc.problems:
                err_console.print(f"  {escape(str(problem))}", highlight=False)
        raise typer.Exit(1) from None
    summary = {
        "valid": True,
        "collections": len(policy.collections),
        "fields": len(policy.field_paths()),
        "purposes": len(policy.purposes),
        "roles": len(policy.roles),
        "processors": len(policy.processors),
        "regions": len(policy.regions),
    }
    if as_json:
        emit(True, summary, "")
    else:
        console.print(
            f"[green]valid[/] {escape(str(file))}: "
            + ", ".join(f"{n} {k}" for k, n in summary.items() if k != "valid"),
            highlight=False,
        )
