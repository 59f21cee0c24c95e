"""Rate limits: the same behaviour counted in memory and in a real Redis, exact under concurrency
across limiters that share Redis (as replicas do), and as the HTTP answers show them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from dataward.app import create_app
from dataward.guard.ratelimit import RateLimited, RateLimiter, storage_for
from dataward.policy import Policy
from dataward.policy.edge import RateLimits
from dataward.services import Vault
from support import ApiClient

RULES = RateLimits(
    default="3/minute",
    roles={"auditor": "5/minute"},
    routes={"GET /v1/things/{id}": "2/minute"},
    anonymous="2/minute",
)

MakeLimiter = Callable[[RateLimits], RateLimiter]


@pytest.fixture
def make_limiter(shared_redis: tuple[str, str] | None) -> Iterator[MakeLimiter]:
    """Limiters counting in memory, or in the real Redis under this test's own key prefix."""
    url, prefix = shared_redis or (None, "-")
    yield lambda rules: RateLimiter(rules, storage_for(url, prefix))


def test_a_client_gets_its_quota_then_a_429_with_retry_after(make_limiter: MakeLimiter) -> None:
    async def scenario() -> None:
        limiter = make_limiter(RULES)
        try:
            seen = [await limiter.admit_client("c1", "signup", None) for _ in range(3)]
            assert [d.remaining for d in seen] == [2, 1, 0]
            assert all(d.policy == "client" and d.quota == 3 and d.window == 60 for d in seen)
            with pytest.raises(RateLimited) as refused:
                await limiter.admit_client("c1", "signup", None)
            headers = dict(refused.value.decision.headers())
            assert headers[b"ratelimit-policy"] == b'"client";q=3;w=60'
            assert 1 <= int(headers[b"retry-after"]) <= 60
            # another client has a count of its own
            assert (await limiter.admit_client("c2", "signup", None)).remaining == 2
        finally:
            await limiter.close()

    asyncio.run(scenario())


def test_role_route_and_throttle_limits_apply_on_top(make_limiter: MakeLimiter) -> None:
    async def scenario() -> None:
        limiter = make_limiter(RULES)
        try:
            # the auditor role has 5/minute instead of the default 3
            for _ in range(5):
                await limiter.admit_client("a1", "auditor", None)
            with pytest.raises(RateLimited):
                await limiter.admit_client("a1", "auditor", None)
            # the route's own limit is tighter than the client's and is reported as such
            first = await limiter.admit_client("c3", "signup", "GET /v1/things/{id}")
            assert (first.policy, first.remaining) == ("route", 1)
            await limiter.admit_client("c3", "signup", "GET /v1/things/{id}")
            with pytest.raises(RateLimited) as refused:
                await limiter.admit_client("c3", "signup", "GET /v1/things/{id}")
            assert refused.value.decision.policy == "route"
            # other routes still work for that client
            assert (await limiter.admit_client("c3", "signup", "GET /v1/other")).policy == "client"
            # a throttle put on a client by anomaly response bites below its usual limit
            await limiter.admit_client("c4", "signup", None, throttle="1/minute")
            with pytest.raises(RateLimited) as throttled:
                await limiter.admit_client("c4", "signup", None, throttle="1/minute")
            assert throttled.value.decision.policy == "throttle"
        finally:
            await limiter.close()

    asyncio.run(scenario())


def test_calls_without_a_token_are_counted_by_address(make_limiter: MakeLimiter) -> None:
    async def scenario() -> None:
        limiter = make_limiter(RULES)
        try:
            await limiter.admit_address("10.0.0.1")
            await limiter.admit_address("10.0.0.1")
            with pytest.raises(RateLimited) as refused:
                await limiter.admit_address("10.0.0.1")
            assert refused.value.decision.policy == "address"
            assert (await limiter.admit_address("10.0.0.2")).remaining == 1
        finally:
            await limiter.close()

    asyncio.run(scenario())


def test_replicas_sharing_redis_keep_one_exact_count(redis_server: str, redis_prefix: str) -> None:
    """Two limiters with separate connections (two replicas) hit one limit concurrently: exactly the
    quota is admitted, never one more."""
    rules = RateLimits(default="40/minute")

    async def scenario() -> int:
        replicas = [RateLimiter(rules, storage_for(redis_server, redis_prefix)) for _ in range(2)]

        async def call(limiter: RateLimiter) -> bool:
            try:
                await limiter.admit_client("shared", "signup", None)
            except RateLimited:
                return False
            return True

        try:
            results = await asyncio.gather(*(call(replicas[i % 2]) for i in range(100)))
        finally:
            for limiter in replicas:
                await limiter.close()
        return sum(results)

    assert asyncio.run(scenario()) == 40


def test_policy_rates_are_checked_when_the_policy_loads(policy: Policy) -> None:
    with pytest.raises(ValueError, match="not a rate"):
        RateLimits(default="lots")
    broken = policy.model_dump(mode="json")
    broken["rate_limits"] = {"roles": {"nobody": "1/second"}}
    from dataward.policy.references import check_references  # noqa: PLC0415

    problems = check_references(Policy.model_validate(broken))
    assert any(p.path == "rate_limits.roles.nobody" for p in problems)


def _limited_app(vault: Vault, rules: RateLimits) -> TestClient:
    policy = vault.policy.model_copy(update={"rate_limits": rules})
    limiter = RateLimiter(rules, storage_for(None, "-"))
    object.__setattr__(vault, "policy", policy)
    vault.guard.limiter = limiter
    return TestClient(create_app(vault, access_log=False))


def test_answers_carry_ratelimit_headers_and_a_429_is_problem_json(vault: Vault) -> None:
    with _limited_app(vault, RateLimits(default="2/minute", anonymous="100/minute")) as http:
        api = ApiClient(http=http, vault=vault)
        headers = api.auth("auditor")
        ok = http.get("/v1/ropa", headers=headers)
        assert ok.status_code == 200
        assert ok.headers["RateLimit-Policy"] == '"client";q=2;w=60'
        assert ok.headers["RateLimit"].startswith('"client";r=1;t=')
        http.get("/v1/ropa", headers=headers)
        refused = http.get("/v1/ropa", headers=headers)
        assert refused.status_code == 429
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["type"] == "urn:dataward:problem:rate-limited"
        assert int(refused.headers["Retry-After"]) >= 1
        assert refused.headers["RateLimit"].startswith('"client";r=0;')
        metrics = http.get("/metrics").text
        assert 'dataward_denials_total{reason="rate-limited",service="vault"} 1.0' in metrics
        assert 'route="/v1/ropa",service="vault",status="429"' in metrics


def test_the_token_endpoint_is_limited_by_address(vault: Vault) -> None:
    with _limited_app(vault, RateLimits(anonymous="3/minute")) as http:
        form = {
            "grant_type": "client_credentials",
            "client_id": "dw_nobodynobodynobody",
            "client_secret": "x",
        }
        answers = [http.post("/oauth/token", data=form) for _ in range(4)]
        assert [a.status_code for a in answers] == [401, 401, 401, 429]
        assert answers[0].headers["RateLimit-Policy"] == '"address";q=3;w=60'
        assert answers[3].json()["status"] == 429
        assert answers[3].headers["X-Content-Type-Options"] == "nosniff"


def test_metrics_name_route_templates_never_ids(api: ApiClient) -> None:
    subject = api.new_subject({"email": "metrics-probe@example.com"})
    api.http.get(f"/v1/subjects/{subject}", params={"purpose": "support"}, headers=api.auth("support-agent"))
    metrics = api.http.get("/metrics")
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    assert subject not in metrics.text
    assert "metrics-probe" not in metrics.text
    assert 'route="/v1/subjects/{subject_id}"' in metrics.text
