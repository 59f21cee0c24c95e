"""The database holds no personal value in the clear: not in the SQLite file (nor its WAL), not in
any PostgreSQL table. Known values are written through the API; then the raw storage is searched."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect, text

from support import ApiClient

PEOPLE = [
    {
        "email": "Zelda.Quintessence@Example.com",
        "full_name": "Zelda Quintessence",
        "phone": "+44 20 7946 0958",
        "birth_date": "1971-04-23",
        "country": "GB",
    },
    {
        "email": "xaver.pfefferminz@beispiel.de",
        "full_name": "Xaver Pfefferminz",
        "phone": "+49 30 9876543",
        "birth_date": "1988-11-02",
        "country": "DE",
    },
]
ALLERGY = "Severe peanut allergy (anaphylaxis)"


def _needles() -> list[bytes]:
    values = [v for person in PEOPLE for k, v in person.items() if k != "country"] + [ALLERGY]
    values += ["+442079460958", "+49309876543"]  # the stored E.164 forms
    out = []
    for value in values:
        for form in {value, value.lower()}:
            out += [form.encode("utf-8"), form.encode("utf-16-le")]
    return out


def _write_everyone(api: ApiClient) -> None:
    writer = api.auth("signup")
    for person in PEOPLE:
        sid = api.new_subject(person)
        written = api.http.put(f"/v1/subjects/{sid}/health", headers=writer, json={"allergies": ALLERGY})
        assert written.status_code == 200
    lookup = api.http.post(
        "/v1/subjects/lookup",
        headers=api.auth("support-agent"),
        json={"field": "profile.email", "value": "zelda.quintessence@example.com", "purpose": "support"},
    )
    assert len(lookup.json()["ids"]) == 1  # the values really are there, and findable


def test_no_plaintext_in_the_database(api: ApiClient, database_url: str) -> None:
    _write_everyone(api)
    if database_url.startswith("sqlite"):
        db = Path(database_url.removeprefix("sqlite:///"))
        raw = b"".join(p.read_bytes() for p in (db, db.with_name(db.name + "-wal")) if p.exists())
        assert len(raw) > 10_000  # the data is in there somewhere
    else:
        chunks = []
        with api.vault.engine.connect() as connection:
            for table in inspect(connection).get_table_names():
                for row in connection.execute(text(f'select * from "{table}"')):
                    chunks += [
                        bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode() for v in row
                    ]
        raw = b"\x00".join(chunks)
        assert len(chunks) > 50
    leaked = [needle for needle in _needles() if needle in raw]
    assert leaked == []
