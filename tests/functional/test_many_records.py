"""Collections with many records per subject (orders): add, replace, read, export, erase."""

from __future__ import annotations

import csv
import io
import zipfile

from support import ApiClient

ORDERS = [
    {"product": "Difference Engine", "amount_cents": 1_700_000, "ordered_on": "1822-06-14"},
    {"product": "Analytical Engine", "amount_cents": 2_500_000, "ordered_on": "1837-01-01"},
]


def _orders(api: ApiClient, sid: str) -> list[str]:
    """Add the orders a second apart: records read oldest first (same instant: in id order)."""
    ids = []
    for order in ORDERS:
        api.vault.clock.advance(1)  # type: ignore[attr-defined]  # the tests' FrozenClock
        added = api.http.post(f"/v1/subjects/{sid}/orders", headers=api.auth("signup"), json=order)
        assert added.status_code == 201, added.text
        ids.append(added.json()["record_id"])
    return ids


def test_records_are_added_read_in_order_and_replaced_one_at_a_time(api: ApiClient) -> None:
    sid = api.new_subject({"email": "charles@example.com"})
    first, second = _orders(api, sid)
    read = api.http.get(f"/v1/subjects/{sid}?purpose=billing", headers=api.auth("billing-service")).json()
    assert read["data"]["orders"] == [{"id": first, **ORDERS[0]}, {"id": second, **ORDERS[1]}]

    changed = {**ORDERS[1], "amount_cents": 99}
    replaced = api.http.put(f"/v1/subjects/{sid}/orders/{second}", headers=api.auth("signup"), json=changed)
    assert replaced.status_code == 200, replaced.text
    read = api.http.get(f"/v1/subjects/{sid}?purpose=billing", headers=api.auth("billing-service")).json()
    assert read["data"]["orders"][1] == {"id": second, **changed}
    assert read["data"]["orders"][0] == {"id": first, **ORDERS[0]}
    audited = [
        e for e in api.vault.audit.entries(subject_id=sid, limit=100) if e.action == "subject:record:read"
    ]
    assert set(audited[-1].fields) >= {"orders.product", "orders.amount_cents", "orders.ordered_on"}


def test_a_record_of_another_subject_cannot_be_replaced(api: ApiClient) -> None:
    ada, charles = api.new_subject(), api.new_subject()
    [theirs, _] = _orders(api, charles)
    attempt = api.http.put(f"/v1/subjects/{ada}/orders/{theirs}", headers=api.auth("signup"), json=ORDERS[0])
    assert attempt.status_code == 404
    read = api.http.get(f"/v1/subjects/{charles}?purpose=billing", headers=api.auth("billing-service")).json()
    assert read["data"]["orders"][0]["product"] == "Difference Engine"  # untouched


def test_one_record_and_many_records_are_written_their_own_way(api: ApiClient) -> None:
    sid = api.new_subject()
    whole = api.http.put(f"/v1/subjects/{sid}/orders", headers=api.auth("signup"), json=ORDERS[0])
    assert whole.status_code == 422
    assert "POST adds one" in whole.json()["detail"]
    added = api.http.post(f"/v1/subjects/{sid}/profile", headers=api.auth("signup"), json={"country": "gb"})
    assert added.status_code == 422
    assert "one record" in added.json()["detail"]


def test_the_export_has_a_csv_row_per_record_and_erasure_takes_them_all(api: ApiClient) -> None:
    sid = api.new_subject({"email": "charles@example.com"})
    _orders(api, sid)
    me = api.subject_auth("charles@example.com")
    exported = api.http.get("/v1/me/export", headers=me)
    with zipfile.ZipFile(io.BytesIO(exported.content)) as archive:
        rows = list(csv.DictReader(io.StringIO(archive.read("orders.csv").decode())))
    assert [r["product"] for r in rows] == ["Difference Engine", "Analytical Engine"]
    assert rows[0]["amount_cents"] == "1700000"

    rid = api.http.post("/v1/me/erasure", headers=me).json()["id"]
    done = api.http.post(f"/v1/rights-requests/{rid}/approve", headers=api.auth("privacy-lead")).json()
    assert {"orders.product", "orders.amount_cents", "orders.ordered_on"} <= set(done["details"]["removed"])
    assert done["details"]["kept"] == []  # nothing a legal obligation keeps: the subject is gone
    read = api.http.get(f"/v1/subjects/{sid}?purpose=invoicing", headers=api.auth("accounting"))
    assert read.status_code == 404
