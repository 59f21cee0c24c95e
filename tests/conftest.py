"""Shared fixtures: the example policy, keyrings, and databases on SQLite and on a real PostgreSQL.

PostgreSQL tests run against `DATAWARD_TEST_POSTGRES_URL` (default: the local server, database
`test`), each in a schema of its own that is dropped afterwards; Redis tests against
`DATAWARD_TEST_REDIS_URL`, each under a key prefix of its own. Where no server answers they skip,
unless `DATAWARD_REQUIRE_SERVICES=1` (set by `.ci/run`) turns the skip into a failure.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from dataward.app import create_app
from dataward.clock import FrozenClock
from dataward.identity.notifiers import MemoryNotifier
from dataward.keys import LocalKeyring
from dataward.policy import Policy, load_policy
from dataward.services import Vault
from dataward.settings import Settings
from dataward.storage import create_database_engine, migrate
from processors import Receiver, serve_receiver
from support import FAST_HASHER, ApiClient, free_port, running

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_POLICY = ROOT / "examples" / "saas.yaml"
POSTGRES_URL = os.environ.get(
    "DATAWARD_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("DATAWARD_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def services_required() -> bool:
    return os.environ.get("DATAWARD_REQUIRE_SERVICES") == "1"


def _postgres_available() -> bool:
    engine = create_database_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            connection.execute(text("select 1"))
    except Exception:  # noqa: BLE001 - any failure to connect means "no server here"
        return False
    finally:
        engine.dispose()
    return True


@pytest.fixture(scope="session")
def postgres_server() -> str:
    if not _postgres_available():
        if services_required():
            pytest.fail(f"PostgreSQL is required (DATAWARD_REQUIRE_SERVICES=1) but {POSTGRES_URL} is down")
        pytest.skip("no PostgreSQL server; set DATAWARD_TEST_POSTGRES_URL")
    return POSTGRES_URL


def _redis_available() -> bool:
    import redis  # noqa: PLC0415 - only the Redis tests need it

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


@pytest.fixture(scope="session")
def redis_server() -> str:
    """The Redis server's URL; skips where none answers, fails instead under `.ci/run`."""
    if not _redis_available():
        if services_required():
            pytest.fail(f"Redis is required (DATAWARD_REQUIRE_SERVICES=1) but {REDIS_URL} is down")
        pytest.skip("no Redis server; set DATAWARD_TEST_REDIS_URL")
    return REDIS_URL


@pytest.fixture
def redis_prefix(redis_server: str) -> Iterator[str]:
    """A key prefix of this test's own on the Redis server; its keys are deleted afterwards."""
    import redis  # noqa: PLC0415

    prefix = f"dwtest-{secrets.token_hex(6)}"
    yield prefix
    client = redis.Redis.from_url(redis_server)
    try:
        keys = list(client.scan_iter(match=f"*{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture(params=["memory", "redis"])
def shared_redis(request: pytest.FixtureRequest) -> tuple[str, str] | None:
    """Where state that replicas share lives: None for this process's memory, else the real
    Redis's URL and a key prefix of this test's own. Tests taking it run once on each."""
    if request.param == "memory":
        return None
    return request.getfixturevalue("redis_server"), request.getfixturevalue("redis_prefix")


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A URL to a fresh, empty schema of its own on the PostgreSQL server."""
    yield from _schema(postgres_server)


def _schema(postgres_server: str) -> Iterator[str]:
    schema = f"t_{secrets.token_hex(6)}"
    admin = create_database_engine(postgres_server)
    with admin.begin() as connection:
        connection.execute(text(f"create schema {schema}"))
    sep = "&" if "?" in postgres_server else "?"
    try:
        yield f"{postgres_server}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f"drop schema {schema} cascade"))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test that uses this runs twice: on an SQLite file and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'dataward.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def second_database_url(database_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """Another database on the same backend as `database_url` (another region's, say)."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'second.db'}"
        return
    yield from _schema(request.getfixturevalue("postgres_server"))


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A migrated database on each backend."""
    engine = create_database_engine(database_url)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def policy() -> Policy:
    return load_policy(EXAMPLE_POLICY)


@pytest.fixture
def keyring() -> LocalKeyring:
    return LocalKeyring.generate()


# -- the vault and its HTTP API ----------------------------------------------------------------


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(at=time.time())


@pytest.fixture
def sent() -> MemoryNotifier:
    """Where the vault's one-time codes land in tests."""
    return MemoryNotifier()


@pytest.fixture
def vault(
    database_url: str, tmp_path: Path, policy: Policy, clock: FrozenClock, sent: MemoryNotifier
) -> Iterator[Vault]:
    """A vault on each backend, with a key file in `tmp_path`, the example policy, and one-time
    codes kept in `sent`."""
    settings = Settings(home=tmp_path, database_url=database_url)
    keyring = LocalKeyring.generate(settings.keyring_path)
    engine = create_database_engine(database_url)
    migrate(engine)
    engine.dispose()
    built = Vault.build(
        settings, policy=policy, keyring=keyring, clock=clock, password_hasher=FAST_HASHER, notifier=sent
    )
    yield built
    built.close()


@pytest.fixture
def api(vault: Vault) -> Iterator[ApiClient]:
    with TestClient(create_app(vault, access_log=False)) as http:
        yield ApiClient(http=http, vault=vault)


@pytest.fixture
def receiver(clock: FrozenClock) -> Iterator[Receiver]:
    """A processor's webhook receiver on 127.0.0.1 (see `processors.py`)."""
    yield from serve_receiver(clock)


@pytest.fixture
def readme_server(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """`dataward serve` as the README's quick start runs it (SQLite, codes on the console, its log in
    `tmp_path/serve.log`): its port and installation folder."""
    home = tmp_path / "home"
    env = {**os.environ, "DATAWARD_HOME": str(home), "DATAWARD_LOG_LEVEL": "WARNING"}
    for name in [
        k for k in env if k.startswith("DATAWARD_") and k not in ("DATAWARD_HOME", "DATAWARD_LOG_LEVEL")
    ]:
        env.pop(name)  # the walk-throughs run on the defaults: SQLite, codes on the console, no Redis
    bin_dir = Path(sys.executable).parent
    subprocess.run([bin_dir / "dataward", "init"], env=env, check=True, capture_output=True)
    port = free_port()
    command = [str(bin_dir / "dataward"), "serve", "--port", str(port)]
    with running(command, env, f"http://127.0.0.1:{port}/.well-known/jwks.json", tmp_path / "serve.log"):
        yield port, home
