"""The example shop's customer API: the upstream that `dataward gateway` protects in the examples.

A deliberately ordinary FastAPI app. It trusts whoever reaches it (the gateway checks tokens,
scopes, purposes and the request's shape in front of it), it answers with every field it has
(the gateway removes what the caller's purpose may not see), and it has one route its OpenAPI
document does not mention, `GET /internal/debug/customers`: the shadow API that the gateway
refuses and lists in its inventory.

Every person in it is generated: reserved e-mail domains (example.com, RFC 2606) and UK phone
numbers from Ofcom's range for drama (020 7946 0xxx).

    python examples/customers_api/app.py --port 9000
"""

from __future__ import annotations

import argparse
import itertools
import threading
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

import uvicorn
from fastapi import FastAPI, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

__all__ = ["create_app", "main"]

_FIRST = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Tim", "Radia", "Ken",
          "Hedy", "Claude", "Katherine", "Niklaus", "Margaret", "John", "Sophie", "Dennis"]  # fmt: skip
_LAST = ["Example", "Sample", "Placeholder", "Testperson", "Mustermann", "Dummy", "Fictional",
         "Imaginary", "Madeup", "Invented", "Notreal", "Pretend"]  # fmt: skip
_CITIES = [("Berlin", "DE", "10115"), ("Paris", "FR", "75001"), ("Vienna", "AT", "1010"),
           ("Lisbon", "PT", "1100-148"), ("Dublin", "IE", "D01 F5P2"),
           ("Tallinn", "EE", "10111")]  # fmt: skip


class Address(BaseModel):
    model_config = ConfigDict(extra="forbid")

    street: str = Field(min_length=1, max_length=200)
    postcode: str = Field(min_length=1, max_length=16)
    city: str = Field(min_length=1, max_length=100)
    country: str = Field(pattern=r"^[A-Z]{2}$")


class CustomerCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    email: str = Field(max_length=254)
    phone: str | None = Field(default=None, max_length=32)
    address: Address | None = None
    date_of_birth: date | None = None
    marketing_opt_in: bool = False
    internal_note: str | None = Field(default=None, max_length=2000)


class CustomerUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=32)
    address: Address | None = None
    date_of_birth: date | None = None
    marketing_opt_in: bool | None = None
    internal_note: str | None = Field(default=None, max_length=2000)


class Customers:
    """The shop's customers, in memory."""

    def __init__(self, count: int = 60) -> None:
        self._lock = threading.Lock()
        self._by_id: dict[int, dict[str, Any]] = {}
        self._ids = itertools.count(1)
        for n in range(count):
            self._add(_fake_person(n))

    def _add(self, fields: dict[str, Any]) -> dict[str, Any]:
        customer_id = next(self._ids)
        record = {"id": customer_id, **fields, "created_at": _created(customer_id)}
        self._by_id[customer_id] = record
        return record

    def page(self, limit: int, offset: int, opted_in: bool | None) -> tuple[list[dict[str, Any]], int]:
        with self._lock:
            chosen = [
                c for c in self._by_id.values() if opted_in is None or c["marketing_opt_in"] is opted_in
            ]
        return chosen[offset : offset + limit], len(chosen)

    def get(self, customer_id: int) -> dict[str, Any] | None:
        return self._by_id.get(customer_id)

    def create(self, body: CustomerCreate) -> dict[str, Any]:
        with self._lock:
            return self._add(body.model_dump(mode="json"))

    def update(self, customer_id: int, body: CustomerUpdate) -> dict[str, Any] | None:
        with self._lock:
            record = self._by_id.get(customer_id)
            if record is None:
                return None
            record.update(body.model_dump(mode="json", exclude_unset=True))
            return record

    def everyone(self) -> list[dict[str, Any]]:
        return list(self._by_id.values())


def create_app(customers: Customers | None = None) -> FastAPI:
    """The app; its own /docs and /openapi.json are off: openapi.yaml beside it is the contract."""
    store = customers or Customers()
    app = FastAPI(title="Example Shop customers API", openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/v1/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/customers")
    def list_customers(
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
        offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
        marketing_opt_in: bool | None = None,
    ) -> dict[str, Any]:
        items, total = store.page(limit, offset, marketing_opt_in)
        summaries = [{k: c[k] for k in ("id", "name", "email", "phone", "marketing_opt_in")} for c in items]
        following = offset + limit
        return {
            "items": summaries,
            "total": total,
            "limit": limit,
            "offset": offset,
            "next_offset": following if following < total else None,
        }

    @app.post("/v1/customers", status_code=201)
    def create_customer(body: CustomerCreate) -> dict[str, Any]:
        return store.create(body)

    @app.get("/v1/customers/{customer_id}", response_model=None)
    def get_customer(customer_id: int) -> dict[str, Any] | JSONResponse:
        return store.get(customer_id) or _not_found(customer_id)

    @app.patch("/v1/customers/{customer_id}", response_model=None)
    def update_customer(customer_id: int, body: CustomerUpdate) -> dict[str, Any] | JSONResponse:
        return store.update(customer_id, body) or _not_found(customer_id)

    @app.get("/v1/customers/{customer_id}/legacy", response_model=None)
    def get_customer_legacy(customer_id: int) -> dict[str, Any] | JSONResponse:
        """Version 0's shape, kept for one old client that nobody has moved yet."""
        customer = store.get(customer_id)
        if customer is None:
            return _not_found(customer_id)
        return {
            "customer_id": customer["id"],
            "full_name": customer["name"],
            "mail": customer["email"],
            "tel": customer["phone"],
            "dob": customer["date_of_birth"],
        }

    @app.get("/internal/debug/customers")
    def debug_dump() -> list[dict[str, Any]]:
        """Left in by a developer long ago, in no spec: everything about everyone, no questions asked."""
        return store.everyone()

    return app


def _not_found(customer_id: int) -> JSONResponse:
    return JSONResponse(
        {"type": "about:blank", "title": "Not found", "status": 404, "detail": f"no customer {customer_id}"},
        status_code=404,
        media_type="application/problem+json",
    )


def _fake_person(n: int) -> dict[str, Any]:
    first, last = _FIRST[n % len(_FIRST)], _LAST[(n * 7) % len(_LAST)]
    city, country, postcode = _CITIES[n % len(_CITIES)]
    return {
        "name": f"{first} {last}",
        "email": f"{first.lower()}.{last.lower()}{n}@example.com",
        "phone": f"+44 20 7946 0{n % 1000:03d}",
        "address": {
            "street": f"{n + 1} Example Street",
            "postcode": postcode,
            "city": city,
            "country": country,
        },
        "date_of_birth": (date(1950, 1, 1) + timedelta(days=(n * 997) % 18000)).isoformat(),
        "marketing_opt_in": n % 3 == 0,
        "internal_note": "prefers e-mail over phone" if n % 5 == 0 else None,
    }


def _created(customer_id: int) -> str:
    return (datetime(2024, 1, 1, tzinfo=UTC) + timedelta(hours=customer_id * 13)).isoformat()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=9000, help="port on 127.0.0.1 (default 9000)")
    args = parser.parse_args()
    uvicorn.run(create_app(), host="127.0.0.1", port=args.port, log_level="info")


if __name__ == "__main__":
    main()
