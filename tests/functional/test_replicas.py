"""Two `dataward serve` processes sharing one installation and the real Redis behave as one: a
client's rate limit is one exact count across both, and a token revoked through one is refused by
the other at once. The same tests run against one process with everything in memory."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
import yaml

from support import free_port, run_dataward, running

BIN = Path(sys.executable).parent
QUOTA = 25


@pytest.fixture(params=["memory", "redis"])
def servers(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[list[str]]:
    """The base URLs to call: one process twice over in memory mode, two processes with Redis."""
    home = tmp_path / "home"
    assert run_dataward(tmp_path, "init", "--dir", home).code == 0
    policy_file = home / "dataward.yaml"
    policy = yaml.safe_load(policy_file.read_text())
    policy["rate_limits"] = {"routes": {"GET /v1/ropa": f"{QUOTA}/minute"}, "anonymous": "1000/minute"}
    policy_file.write_text(yaml.safe_dump(policy, sort_keys=False))
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATAWARD_")}
    env |= {"DATAWARD_HOME": str(home), "DATAWARD_LOG_LEVEL": "WARNING"}
    count = 1
    if request.param == "redis":
        env["DATAWARD_REDIS_URL"] = request.getfixturevalue("redis_server")
        env["DATAWARD_REDIS_PREFIX"] = request.getfixturevalue("redis_prefix")
        count = 2
    urls = []
    with ExitStack() as stack:
        for i in range(count):
            port = free_port()
            command = [str(BIN / "dataward"), "serve", "--port", str(port), "--no-access-log"]
            url = f"http://127.0.0.1:{port}"
            stack.enter_context(running(command, env, f"{url}/.well-known/jwks.json", tmp_path / f"{i}.log"))
            urls.append(url)
        yield urls * 2 if count == 1 else urls


def _token(base: str, home: Path, role: str) -> tuple[str, dict[str, str]]:
    client = run_dataward(
        home.parent, "clients", "add", f"{role}-probe", "--role", role, "--dir", home, "--json"
    )
    assert client.code == 0, client.err
    credentials = client.json()
    form = {"grant_type": "client_credentials", **{k: credentials[k] for k in ("client_id", "client_secret")}}
    answer = httpx.post(f"{base}/oauth/token", data=form)
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"], form


def test_a_rate_limit_is_one_exact_count_across_replicas(servers: list[str], tmp_path: Path) -> None:
    token, _ = _token(servers[0], tmp_path / "home", "auditor")
    headers = {"Authorization": f"Bearer {token}"}

    async def burst() -> list[int]:
        async with httpx.AsyncClient(timeout=30) as http:
            calls = [http.get(f"{servers[i % 2]}/v1/ropa", headers=headers) for i in range(2 * QUOTA + 10)]
            return [answer.status_code for answer in await asyncio.gather(*calls)]

    statuses = asyncio.run(burst())
    assert statuses.count(200) == QUOTA
    assert statuses.count(429) == QUOTA + 10


def test_a_token_revoked_through_one_replica_is_refused_by_the_other(
    servers: list[str], tmp_path: Path
) -> None:
    token, form = _token(servers[0], tmp_path / "home", "auditor")
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{servers[1]}/v1/ropa", headers=headers).status_code == 200
    credentials = {k: form[k] for k in ("client_id", "client_secret")}
    revoked = httpx.post(f"{servers[0]}/oauth/revoke", data={**credentials, "token": token})
    assert revoked.status_code == 200
    for base in servers:  # at once, on every replica
        refused = httpx.get(f"{base}/v1/ropa", headers=headers)
        assert refused.status_code == 401
        assert refused.json()["detail"] == "the access token has been revoked"
    # the client itself is not cut off: a new token works everywhere
    fresh = httpx.post(f"{servers[1]}/oauth/token", data={"grant_type": "client_credentials", **credentials})
    assert fresh.status_code == 200
    again = {"Authorization": f"Bearer {fresh.json()['access_token']}"}
    assert all(httpx.get(f"{base}/v1/ropa", headers=again).status_code == 200 for base in servers)
