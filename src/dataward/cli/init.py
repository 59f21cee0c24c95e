"""`dataward init`: create an installation — policy, key file (0600) and a migrated database."""

from __future__ import annotations

import os
import shutil
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer

from dataward.cli._common import DirOption, JsonOption, emit, err_console, settings_for
from dataward.keys import LocalKeyring
from dataward.policy import load_policy
from dataward.storage import create_database_engine, migrate
from dataward.storage.engine import create_private_sqlite_file
from dataward.subjects.regions import region_keyring_path


def init(
    directory: DirOption = None,
    policy_file: Annotated[
        Path | None,
        typer.Option("--policy", help="Policy to install (default: the example SaaS policy).", exists=True),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Create an installation: the policy, a new key file (0600) and a migrated database.

    Running it again keeps the existing keys and data (and installs --policy when given).

    Example: dataward init --dir ./vault --policy examples/saas.yaml
    """
    settings = settings_for(directory)
    settings.home.mkdir(parents=True, exist_ok=True)
    os.chmod(settings.home, 0o700)  # noqa: PTH101 - the folder holds the key file
    source = policy_file or Path(str(resources.files("dataward.policy") / "examples" / "saas.yaml"))
    policy = load_policy(source)  # refuse an invalid policy before anything is written
    if policy_file is not None or not settings.policy_path.exists():
        shutil.copyfile(source, settings.policy_path)
    created_keys = not settings.keyring_path.exists()
    if created_keys:
        LocalKeyring.generate(settings.keyring_path)
    create_private_sqlite_file(settings.database_url)
    engine = create_database_engine(settings.database_url)
    try:
        migrate(engine)
    finally:
        engine.dispose()
    for name, region in policy.regions.items():  # each other region: its own key file and database
        if region.default:
            continue
        if not region_keyring_path(settings, name).exists():
            LocalKeyring.generate(region_keyring_path(settings, name))
        url = os.environ.get(region.database_url_env or "")
        if not url:
            err_console.print(
                f"[yellow]warning:[/] region {name}: set ${region.database_url_env}, then init again"
            )
            continue
        create_private_sqlite_file(url)
        regional = create_database_engine(url)
        try:
            migrate(regional)
        finally:
            regional.dispose()
    emit(
        as_json,
        {
            "home": str(settings.home),
            "policy": str(settings.policy_path),
            "keyring": str(settings.keyring_path),
            "keyring_created": created_keys,
            "database": engine.url.render_as_string(hide_password=True),
        },
        f"[green]ready[/] {settings.home}\n"
        f"  policy   {settings.policy_path}\n"
        f"  keys     {settings.keyring_path} ({'new' if created_keys else 'kept'}, mode 0600)\n"
        f"  database {engine.url.render_as_string(hide_password=True)}\n"
        "next: dataward serve, then dataward clients add NAME --role ROLE",
    )
