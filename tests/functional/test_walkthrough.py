"""The README's walk-through, as a test: token, subject, write, read under two purposes, consent."""

from __future__ import annotations

from support import ApiClient

PROFILE = {
    "email": "Ada@Example.com",
    "full_name": "Ada Lovelace",
    "phone": "+44 20 7946 0958",
    "birth_date": "1815-12-10",
    "country": "gb",
}


def test_read_returns_only_what_the_purpose_allows(api: ApiClient) -> None:
    sid = api.new_subject(PROFILE)
    billing = api.http.get(f"/v1/subjects/{sid}?purpose=billing", headers=api.auth("billing-service"))
    assert billing.status_code == 200
    assert billing.json()["data"] == {
        "profile": {"email": "Ada@Example.com", "full_name": "Ada Lovelace", "country": "GB"}
    }
    withheld = {w["field"]: w["reason"] for w in billing.json()["withheld"]}
    assert withheld == {
        "profile.phone": "not_in_purpose",
        "profile.birth_date": "not_in_purpose",
        "health.allergies": "not_in_purpose",
    }


def test_marketing_needs_consent_and_stops_on_withdrawal(api: ApiClient) -> None:
    sid = api.new_subject(PROFILE)
    newsletter = api.auth("newsletter")
    before = api.http.get(f"/v1/subjects/{sid}?purpose=marketing", headers=newsletter).json()
    assert before["data"] == {}
    assert {"field": "profile.email", "reason": "no_consent"} in before["withheld"]

    consent = {"purpose": "marketing", "notice_version": "2026-01", "source": "signup-form"}
    given = api.http.post(f"/v1/subjects/{sid}/consents", headers=api.auth("signup"), json=consent)
    assert given.status_code == 201
    during = api.http.get(f"/v1/subjects/{sid}?purpose=marketing", headers=newsletter).json()
    assert during["data"] == {"profile": {"email": "Ada@Example.com", "full_name": "Ada Lovelace"}}

    withdrawn = api.http.delete(f"/v1/subjects/{sid}/consents/marketing", headers=api.auth("signup"))
    assert withdrawn.status_code == 200
    after = api.http.get(f"/v1/subjects/{sid}?purpose=marketing", headers=newsletter).json()
    assert after["data"] == {}
    assert {"field": "profile.email", "reason": "consent_withdrawn"} in after["withheld"]
