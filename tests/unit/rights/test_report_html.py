"""The Art. 15 report as an HTML page: readable, self-contained, and safe with hostile stored values."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from dataward.policy import Policy, load_policy
from dataward.policy.disclosure import NO_AUTOMATED_DECISIONS, subject_information
from dataward.rights.report_html import render_access_report
from support import parse_page

POLICY = Path(__file__).resolve().parents[1] / "policy" / "data" / "records.yaml"
SCRIPT = "<script>alert(1)</script>"
BREAKOUT = '"><img src=x onerror=alert(document.cookie)>'


@pytest.fixture
def policy() -> Policy:
    return load_policy(POLICY)


def _report(policy: Policy, **overrides: Any) -> dict[str, Any]:
    report: dict[str, Any] = {
        "subject_id": "0b6f2a1e-8c47-4d0e-9d8a-2f1c4b7e9a10",
        "generated_at": "2026-03-01T09:30:00+00:00",
        "data": {"profile": {"email": "ada@example.org", "full_name": "Ada Lovelace", "phone": None}},
        "withheld": [{"field": "health.allergies", "reason": "not_in_purpose"}],
        "consent": [
            {
                "purpose": "marketing",
                "event": "given",
                "at": "2026-01-02T10:00:00+00:00",
                "notice_version": "v3",
            }
        ],
        "information": subject_information(policy, ["profile.email", "profile.full_name", "profile.phone"]),
    }
    report.update(overrides)
    return report


@pytest.mark.parametrize("hostile", [SCRIPT, BREAKOUT])
def test_stored_values_come_out_escaped(policy: Policy, hostile: str) -> None:
    report = _report(
        policy,
        data={"profile": {"email": hostile, "full_name": ["a", hostile]}, hostile: {hostile: hostile}},
        withheld=[{"field": hostile, "reason": hostile}, hostile],
        consent=[{"purpose": hostile, "event": "given", "at": hostile, "notice_version": hostile}],
        subject_id=hostile,
    )
    html = render_access_report(report)
    page = parse_page(html)

    assert hostile not in html
    assert "script" not in page.tags and "img" not in page.tags
    assert not [name for name, _ in page.attributes if name.startswith("on")]
    assert any(hostile in text for text in page.text)  # shown to the reader as text, not dropped


def test_the_page_is_self_contained_without_scripts_or_remote_content(policy: Policy) -> None:
    html = render_access_report(_report(policy))
    page = parse_page(html)
    assert page.tags[0] == "html" and "style" in page.tags
    assert not {"script", "link", "img", "iframe", "object", "embed"} & set(page.tags)
    assert not [value for name, value in page.attributes if name in {"src", "href"}]
    assert "http://" not in html and "https://" not in html
    policies = [v for n, v in page.attributes if n == "content" and v and "default-src" in v]
    assert policies == ["default-src 'none'; style-src 'unsafe-inline'; form-action 'none'; base-uri 'none'"]


def test_the_page_shows_the_data_the_consent_history_and_every_art_15_item(policy: Policy) -> None:
    text = " ".join(" ".join(parse_page(render_access_report(_report(policy))).text).split())
    for expected in [
        "Your personal data held by Example SaaS GmbH",
        "0b6f2a1e-8c47-4d0e-9d8a-2f1c4b7e9a10",
        "ada@example.org",
        "Ada Lovelace",
        "(empty)",  # a field with no value
        "health.allergies: not in purpose",  # what was withheld is said
        "marketing given 2026-01-02T10:00:00+00:00 v3",
        "Send the product newsletter",  # (a) a purpose
        "consent of the data subject (Art. 6(1)(a))",  # ... and its legal basis
        "user.contact.phone_number",  # (b) a category of personal data
        "Example Mail Inc. US (outside the EEA) marketing standard contractual clauses (Art. 46(2)(c))",
        "transferred outside the European Economic Area to Example Mail Inc.",  # 15(2)
        "billing: 10 years",  # (d)
        "Withdrawing consent Art. 7(3)",  # (e)
        "Objection Art. 21",
        "the data protection authority of your country of residence",  # (f)
        "the data subject",  # (g)
        NO_AUTOMATED_DECISIONS,  # (h)
        "dpo@example.com",
    ]:
        assert expected in text, expected
    for letter in "abcdefgh":
        assert f"Art. 15(1)({letter})" in text


def test_a_subject_with_no_data_gets_a_page_that_says_so(policy: Policy) -> None:
    report = _report(policy, data={}, consent=[], information=subject_information(policy, []))
    del report["withheld"]
    text = " ".join(parse_page(render_access_report(report)).text)
    assert "We hold no personal data about you." in text
    assert "Send the product newsletter" not in text


def test_the_template_ships_inside_the_package() -> None:
    template = resources.files("dataward.rights") / "templates" / "access_report.html.j2"
    assert template.is_file()
    assert "|safe" not in template.read_text(encoding="utf-8").replace(" ", "")
