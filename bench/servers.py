"""The two servers the read-path benchmark compares, each run by uvicorn with one worker.

python bench/servers.py vault DIR PORT   the vault: token, decision, decryption, durable audit
python bench/servers.py bare DIR PORT    a bare FastAPI endpoint: the same JSON, no controls
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import Column, MetaData, String, Table, Text, select

from dataward.api.server import run_server
from dataward.app import create_app
from dataward.services import Vault
from dataward.settings import Settings
from dataward.storage import create_database_engine

bare_metadata = MetaData()
bare_records = Table(
    "bench_bare_records",
    bare_metadata,
    Column("id", String(36), primary_key=True),
    Column("document", Text, nullable=False),
)


def bare_app(home: Path) -> FastAPI:
    """The baseline: read the record's JSON by primary key from the same SQLite file and return it."""
    engine = create_database_engine(Settings.load(home).database_url)
    query = select(bare_records.c.document)
    app = FastAPI()

    @app.get("/v1/subjects/{subject_id}")
    async def read(subject_id: str, purpose: str) -> JSONResponse:
        with engine.connect() as connection:
            document = connection.execute(query.where(bare_records.c.id == subject_id)).scalar_one()
        body: dict[str, Any] = {
            "id": subject_id,
            "purpose": purpose,
            "data": {"profile": json.loads(document)},
            "withheld": [],
        }
        return JSONResponse(body)

    return app


def main() -> None:
    which, home, port = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    if which == "vault":
        app = create_app(Vault.build(Settings.load(home)), access_log=False)
    else:
        app = bare_app(home)
    # Both run as `dataward serve` runs them: the same uvicorn settings and process tuning.
    run_server(app, host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()
