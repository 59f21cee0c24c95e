"""`dataward gateway`: put the vault's controls in front of an existing API."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dataward.api.server import run_server
from dataward.cli._common import DirOption, check_listening, err_console, open_vault
from dataward.cli.serve import configure_logging
from dataward.gateway.errors import SpecError
from dataward.gateway.minimise import check_spec_against_policy
from dataward.gateway.proxy import GatewayApp
from dataward.gateway.spec import load_spec
from dataward.gateway.upstream import Upstream, UpstreamSettings
from dataward.storage import migrate

__all__ = ["gateway"]

SpecOption = Annotated[
    Path,
    typer.Option("--spec", help="The upstream API's OpenAPI 3.0/3.1 document (YAML or JSON).", exists=True),
]


def gateway(
    spec: SpecOption,
    upstream: Annotated[str, typer.Option(help="The API to protect, e.g. http://127.0.0.1:9000.")],
    listen: Annotated[str, typer.Option(help="HOST:PORT to listen on.")] = "127.0.0.1:8080",
    directory: DirOption = None,
    base_path: Annotated[
        str, typer.Option(help="A path prefix the spec's paths are served under, such as /api.")
    ] = "",
    upstream_ca: Annotated[
        Path | None, typer.Option(help="CA certificate (PEM) that signed the upstream's.", exists=True)
    ] = None,
    client_cert: Annotated[
        Path | None, typer.Option(help="Our certificate (PEM) for mutual TLS to the upstream.", exists=True)
    ] = None,
    client_key: Annotated[
        Path | None, typer.Option(help="The key (PEM) of --client-cert.", exists=True)
    ] = None,
    tls_cert: Annotated[
        Path | None, typer.Option(help="TLS certificate (PEM) to serve with.", exists=True)
    ] = None,
    tls_key: Annotated[
        Path | None, typer.Option(help="TLS private key (PEM) to serve with.", exists=True)
    ] = None,
    insecure: Annotated[
        bool, typer.Option("--insecure", help="Allow plain HTTP on a non-loopback address.")
    ] = False,
) -> None:
    """Run the gateway: token checks, scopes and purposes, rate limits, anomaly response, strict
    validation against the spec, response minimisation and an endpoint inventory, in front of
    --upstream. Tokens come from this installation's vault (or its policy's identity providers);
    rate limits, anomaly rules and purposes from its policy.

    Example: dataward gateway --spec examples/customers_api/openapi.yaml --upstream http://127.0.0.1:9000
    """
    host, _, port_text = listen.rpartition(":")
    if not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        err_console.print("[red]error:[/] --listen takes HOST:PORT, such as 127.0.0.1:8080")
        raise typer.Exit(2)
    check_listening(host, tls_cert, tls_key, insecure)
    try:
        settings = UpstreamSettings(upstream, upstream_ca, client_cert, client_key)
    except ValueError as exc:
        err_console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    document = load_spec(spec)  # a SpecError names each problem and exits 2 (see cli.main)
    configure_logging()
    vault = open_vault(directory)
    if problems := check_spec_against_policy(document, vault.policy):
        vault.close()
        raise SpecError(str(spec), problems)
    migrate(vault.engine)
    app = GatewayApp(vault, document, Upstream(settings), base_path=base_path,
                     max_body_bytes=vault.settings.max_body_bytes)  # fmt: skip
    err_console.print(f"gateway on {listen} -> {upstream} ({len(document.operations)} operations)")
    run_server(app, host=host, port=int(port_text), tls_cert=tls_cert, tls_key=tls_key)
