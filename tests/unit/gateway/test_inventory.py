"""The endpoint inventory: counted cheaply, stored without raw paths, classified, and shown safely."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from dataward.clock import FrozenClock
from dataward.gateway.inventory import (
    OVERFLOW_PATH,
    InventoryRecorder,
    normalise_method,
    normalise_shadow_path,
)
from dataward.gateway.inventory_html import render_inventory_html
from dataward.gateway.inventory_report import (
    Authentication,
    EndpointClass,
    EndpointRow,
    build_inventory,
    inventory_as_json,
    load_endpoint_rows,
)
from dataward.gateway.spec import Spec, load_spec
from dataward.storage import create_database_engine, migrate
from dataward.storage.tables import gateway_endpoints
from support import parse_page

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "customers_api" / "openapi.yaml"
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC).timestamp()
SCRIPT = "/<script>alert(1)</script>"


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(at=T0)


@pytest.fixture(scope="module")
def example() -> Spec:
    return load_spec(EXAMPLE)


# -- normalising shadow paths --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "kept"),
    [
        ("/internal/debug/customers", "/internal/debug/customers"),
        ("/users/12345/export", "/users/{id}/export"),
        ("/users/7", "/users/7"),  # one digit: a version or a page, not worth hiding
        ("/users/9b2f3c1e-8a47-4d0e-9d8a-2f1c4b7e9a10", "/users/{id}"),
        ("/objects/507f1f77bcf86cd799439011", "/objects/{id}"),  # a MongoDB ObjectId
        ("/reset/eyJhbGciOiJIUzI1NiJ9abcdefgh123", "/reset/{id}"),  # a token
        ("/by-email/ada@example.com/orders", "/by-email/{id}/orders"),
        ("/by-email/ada%40example.com", "/by-email/{id}"),
        ("/by-phone/+4915112345678", "/by-phone/{id}"),
        ("/reports/2026-03-01", "/reports/{id}"),
        ("/v1/customers/{customer_id}", "/v1/customers/{customer_id}"),  # a template stays itself
        ("/search?q=ada@example.com", "/search"),  # the query never
        ("/v2/oauth2/authorize", "/v2/oauth2/authorize"),
        ("/", "/"),
    ],
)
def test_identifiers_and_personal_data_leave_shadow_paths(path: str, kept: str) -> None:
    assert normalise_shadow_path(path) == kept
    assert normalise_shadow_path(kept) == kept  # idempotent


def test_a_long_path_is_cut_to_fit_the_table() -> None:
    path = "/a" * 400
    normalised = normalise_shadow_path(path)
    assert len(normalised) <= 200 and normalised.endswith("/{more}")
    long_words = "/" + "/".join(["segment-of-words"] * 30)
    assert len(normalise_shadow_path(long_words)) <= 200


def test_unknown_methods_are_folded() -> None:
    assert normalise_method("get") == "GET"
    assert normalise_method("PROPFIND-OR-SOMETHING-LONGER-THAN-A-COLUMN") == "OTHER"


# -- recording -----------------------------------------------------------------------------------


def test_ids_collapse_into_one_shadow_entry_and_the_raw_path_is_not_kept(
    clock: FrozenClock, tmp_path: Path
) -> None:
    recorder = InventoryRecorder(clock)
    for n in range(1000, 2000):
        recorder.record("GET", f"/internal/users/{n}/dump", documented=False, status=200, authenticated=False)
    recorder.record("GET", "/v1/customers/{customer_id}", documented=True, status=200, authenticated=True)
    assert recorder.pending == 2
    engine = _sqlite(tmp_path)
    recorder.flush(engine)
    assert sorted((r.path, r.hits) for r in load_endpoint_rows(engine)) == [
        ("/internal/users/{id}/dump", 1000),
        ("/v1/customers/{customer_id}", 1),
    ]


def test_the_number_of_distinct_shadow_paths_is_capped(clock: FrozenClock, engine: Engine) -> None:
    recorder = InventoryRecorder(clock, max_shadow=3)
    for name in ("a", "b", "c", "d", "e"):
        recorder.record("GET", f"/{name}", False, 404, False)
    recorder.record("GET", "/v1/health", True, 200, False)
    recorder.flush(engine)
    rows = {(r.method, r.path): r for r in load_endpoint_rows(engine)}
    assert set(rows) == {
        ("GET", "/a"),
        ("GET", "/b"),
        ("GET", "/c"),
        ("GET", OVERFLOW_PATH),
        ("GET", "/v1/health"),
    }
    assert rows[("GET", OVERFLOW_PATH)].hits == 2

    for name in ("f", "g"):  # the table holds the cap too, across flushes
        recorder.record("POST", f"/{name}", False, 404, False)
    recorder.flush(engine)
    rows = {(r.method, r.path): r for r in load_endpoint_rows(engine)}
    assert ("POST", OVERFLOW_PATH) in rows and ("POST", "/f") not in rows


def _sqlite(tmp_path: Path) -> Engine:
    engine = create_database_engine(f"sqlite:///{tmp_path / 'inventory.db'}")
    migrate(engine)
    return engine


def test_flushing_twice_accumulates_on_each_database(engine: Engine, clock: FrozenClock) -> None:
    recorder = InventoryRecorder(clock)
    recorder.record("GET", "/v1/customers/{customer_id}", True, 200, True)
    recorder.record("GET", "/v1/customers/{customer_id}", True, 404, False)
    recorder.record("get", "/internal/debug/customers", False, 404, False)
    assert recorder.flush(engine) == 2
    assert recorder.pending == 0 and recorder.flush(engine) == 0

    clock.advance(3600)
    recorder.record("GET", "/v1/customers/{customer_id}", True, 200, True)
    recorder.flush(engine)

    rows = {(r.method, r.path): r for r in load_endpoint_rows(engine)}
    customer = rows[("GET", "/v1/customers/{customer_id}")]
    assert (customer.hits, customer.authenticated_hits) == (3, 2)
    assert customer.statuses == {200: 2, 404: 1}
    assert customer.first_seen == datetime.fromtimestamp(T0, UTC)
    assert customer.last_seen == datetime.fromtimestamp(T0 + 3600, UTC)
    assert customer.documented
    shadow = rows[("GET", "/internal/debug/customers")]
    assert not shadow.documented and shadow.hits == 1
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(gateway_endpoints)).scalar_one() == 2


def test_counts_survive_a_failed_flush(clock: FrozenClock, tmp_path: Path) -> None:
    recorder = InventoryRecorder(clock)
    recorder.record("GET", "/v1/health", True, 200, False)
    unmigrated = create_database_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(Exception, match="gateway_endpoints"):
        recorder.flush(unmigrated)
    recorder.record("GET", "/v1/health", True, 200, False)
    engine = _sqlite(tmp_path)
    recorder.flush(engine)
    [row] = load_endpoint_rows(engine)
    assert row.hits == 2


# -- classifying ---------------------------------------------------------------------------------


def _row(method: str, path: str, hits: int, authenticated: int, statuses: dict[int, int]) -> EndpointRow:
    at = datetime.fromtimestamp(T0, UTC)
    return EndpointRow(method, path, True, at, at, hits, authenticated, statuses)


def test_every_endpoint_falls_in_exactly_one_class(example: Spec) -> None:
    rows = [
        _row("GET", "/v1/customers", 10, 10, {200: 10}),
        _row("GET", "/v1/customers/{customer_id}", 5, 3, {200: 4, 404: 1}),
        _row("GET", "/v1/customers/{customer_id}/legacy", 2, 2, {200: 2}),
        _row("GET", "/internal/debug/customers", 7, 0, {404: 7}),
        _row("DELETE", "/v1/customers/{customer_id}", 1, 1, {404: 1}),  # a method the spec lacks
    ]
    inventory = build_inventory(example, rows, generated_at=datetime.fromtimestamp(T0, UTC))
    classes = {(e.method, e.path): e.kind for e in inventory.entries}
    assert classes == {
        ("GET", "/v1/health"): EndpointClass.ORPHAN,
        ("GET", "/v1/customers"): EndpointClass.DOCUMENTED,
        ("POST", "/v1/customers"): EndpointClass.ORPHAN,
        ("GET", "/v1/customers/{customer_id}"): EndpointClass.DOCUMENTED,
        ("PATCH", "/v1/customers/{customer_id}"): EndpointClass.ORPHAN,
        ("GET", "/v1/customers/{customer_id}/legacy"): EndpointClass.ZOMBIE,
        ("GET", "/internal/debug/customers"): EndpointClass.SHADOW,
        ("DELETE", "/v1/customers/{customer_id}"): EndpointClass.SHADOW,
    }
    assert inventory.counts == {
        EndpointClass.SHADOW: 2,
        EndpointClass.ZOMBIE: 1,
        EndpointClass.ORPHAN: 3,
        EndpointClass.DOCUMENTED: 2,
    }
    by_key = {(e.method, e.path): e for e in inventory.entries}
    assert by_key[("GET", "/v1/customers")].authentication is Authentication.ALL
    assert by_key[("GET", "/v1/customers/{customer_id}")].authentication is Authentication.SOME
    assert by_key[("GET", "/internal/debug/customers")].authentication is Authentication.NONE
    assert by_key[("GET", "/v1/health")].authentication is Authentication.NEVER_CALLED
    assert [e.path for e in inventory.of(EndpointClass.SHADOW)] == [  # most called first
        "/internal/debug/customers",
        "/v1/customers/{customer_id}",
    ]


def test_the_json_form_is_plain_data(example: Spec) -> None:
    rows = [_row("GET", "/internal/debug/customers", 7, 0, {404: 7})]
    data = inventory_as_json(build_inventory(example, rows, generated_at=datetime.fromtimestamp(T0, UTC)))
    assert json.loads(json.dumps(data)) == data
    assert data["counts"] == {"shadow": 1, "zombie": 0, "orphan": 6, "documented": 0}
    shadow = data["endpoints"][0]
    assert shadow == {
        "method": "GET",
        "path": "/internal/debug/customers",
        "class": "shadow",
        "operation_id": None,
        "deprecated": False,
        "public": None,
        "purposes": [],
        "hits": 7,
        "authenticated_hits": 0,
        "authentication": "none",
        "statuses": {"404": 7},
        "first_seen": "2026-03-01T09:00:00+00:00",
        "last_seen": "2026-03-01T09:00:00+00:00",
    }


# -- the page ------------------------------------------------------------------------------------


def test_the_page_escapes_hostile_shadow_paths(example: Spec, clock: FrozenClock, tmp_path: Path) -> None:
    recorder = InventoryRecorder(clock)
    recorder.record("GET", SCRIPT, False, 404, False)
    recorder.record("GET", '/"><img src=x onerror=alert(1)>', False, 404, False)
    engine = _sqlite(tmp_path)
    recorder.flush(engine)
    html = render_inventory_html(
        build_inventory(example, load_endpoint_rows(engine), generated_at=clock.now())
    )
    page = parse_page(html)

    assert SCRIPT not in html
    assert "script" not in page.tags and "img" not in page.tags
    assert not [name for name, _ in page.attributes if name.startswith("on")]
    assert any(SCRIPT in text for text in page.text)  # shown as text, not dropped


def test_the_page_shows_counts_then_a_table_per_class(example: Spec) -> None:
    rows = [
        _row("GET", "/v1/customers", 10, 10, {200: 10}),
        _row("GET", "/v1/customers/{customer_id}/legacy", 2, 2, {200: 2}),
        _row("GET", "/internal/debug/customers", 7, 0, {404: 7}),
    ]
    html = render_inventory_html(build_inventory(example, rows, generated_at=datetime.fromtimestamp(T0, UTC)))
    page = parse_page(html)
    text = " ".join(" ".join(page.text).split())
    assert "Example Shop customers API 1.4.0 · generated 2026-03-01 09:00 UTC · 19 requests counted" in text
    for expected in (
        "1 shadow",
        "1 zombie",
        "4 orphan",
        "1 documented",
        "Shadow endpoints (1)",
        "Zombie endpoints (1)",
        "Orphan endpoints (4)",
        "Documented endpoints (1)",
        "/internal/debug/customers 7 none 404 \N{MULTIPLICATION SIGN} 7",
        "getCustomerLegacy token required support",
    ):
        assert expected in text, expected
    assert not {"script", "link", "img", "iframe"} & set(page.tags)
    assert "http://" not in html and "https://" not in html


def test_the_template_ships_inside_the_package() -> None:
    template = resources.files("dataward.gateway") / "templates" / "inventory.html.j2"
    assert template.is_file()
    assert "|safe" not in template.read_text(encoding="utf-8").replace(" ", "")
