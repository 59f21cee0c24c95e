"""`scan live`, its authentication probes: against the vulnerable Acme HR each planted flaw is found
where the manifest says; against its clean twin, nothing. Each target is served once for the module
and scanned once with alice's and bob's tokens, writes not allowed."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from dataward.scanner.document import parse_document
from dataward.scanner.findings import Finding
from dataward.scanner.live import probes_auth
from dataward.scanner.live.context import Identity
from dataward.scanner.live_scan import scan_live
from dataward.scanner.results import ScanResult
from scan_targets.manifest import VULNERABLE_LIVE_FLAWS
from support import serving_target

RULES = (
    "API2-NO-TOKEN-ACCEPTED",
    "API2-FORGED-TOKEN-ACCEPTED",
    "API2-TOKEN-IN-QUERY-ACCEPTED",
    "API2-USER-ENUMERATION",
)


@dataclass(frozen=True)
class Scanned:
    result: ScanResult
    identities: list[Identity]

    def of(self, rule_id: str) -> list[Finding]:
        return [f for f in self.result.findings if f.rule.id == rule_id]

    def where(self, rule_id: str) -> set[tuple[str | None, str | None]]:
        return {(f.location.method, f.location.path) for f in self.of(rule_id)}

    def keys(self, rule_id: str) -> dict[tuple[str | None, str | None], set[str]]:
        found: dict[tuple[str | None, str | None], set[str]] = {}
        for f in self.of(rule_id):
            found.setdefault((f.location.method, f.location.path), set()).add(str(f.evidence["key"]))
        return found


def _scanned(name: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scanned]:
    with serving_target(name, tmp_path_factory.mktemp(name)) as target:
        document = parse_document(target.spec_path.read_text(encoding="utf-8"), str(target.spec_path))
        identities = [Identity(user, target.token(user)) for user in ("alice", "bob")]
        result = scan_live(
            document, target.base_url, identities, allow_destructive=False, probes=probes_auth.PROBES
        )
        yield Scanned(result, identities)


@pytest.fixture(scope="module")
def vulnerable(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scanned]:
    yield from _scanned("vulnerable_api", tmp_path_factory)


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scanned]:
    yield from _scanned("clean_api", tmp_path_factory)


def assert_planted_found(scanned: Scanned, rule_id: str) -> None:
    planted = [p for p in VULNERABLE_LIVE_FLAWS if p.rule_id == rule_id]
    assert planted
    for flaw in planted:
        if flaw.method is None:
            assert scanned.of(rule_id), flaw.note
        else:
            assert (flaw.method, flaw.path) in scanned.where(rule_id), (flaw.note, scanned.where(rule_id))


def test_a_secured_operation_answering_without_a_token_is_found(vulnerable: Scanned, clean: Scanned) -> None:
    assert_planted_found(vulnerable, "API2-NO-TOKEN-ACCEPTED")
    assert vulnerable.where("API2-NO-TOKEN-ACCEPTED") == {("GET", "/v2/directory")}
    assert clean.of("API2-NO-TOKEN-ACCEPTED") == []


def test_forged_tokens_are_found_api_wide_and_where_only_one_operation_takes_them(
    vulnerable: Scanned, clean: Scanned
) -> None:
    rule_id = "API2-FORGED-TOKEN-ACCEPTED"
    assert_planted_found(vulnerable, rule_id)
    keys = vulnerable.keys(rule_id)
    # alg none, tokens signed with "secret" and expired ones pass everywhere; an altered signature
    # passes GET /users/me alone, which checks no signature at all.
    assert keys[None, None] == {"alg-none", "weak-secret", "expired"}
    assert keys["GET", "/users/me"] == {"altered-signature"}
    assert set(keys) == {(None, None), ("GET", "/users/me")}
    (weak,) = [f for f in vulnerable.of(rule_id) if f.evidence["key"] == "weak-secret"]
    assert weak.evidence["secret"] == "secret"
    assert weak.evidence["accepted_by"], "the secret found was not proved by a request"
    assert clean.of(rule_id) == []


def test_a_token_in_the_query_string_is_found(vulnerable: Scanned, clean: Scanned) -> None:
    assert_planted_found(vulnerable, "API2-TOKEN-IN-QUERY-ACCEPTED")
    assert {str(f.evidence["key"]) for f in vulnerable.of("API2-TOKEN-IN-QUERY-ACCEPTED")} == {"access_token"}
    assert clean.of("API2-TOKEN-IN-QUERY-ACCEPTED") == []


def test_a_login_telling_unknown_users_from_wrong_passwords_is_found(
    vulnerable: Scanned, clean: Scanned
) -> None:
    assert_planted_found(vulnerable, "API2-USER-ENUMERATION")
    (finding,) = vulnerable.of("API2-USER-ENUMERATION")
    assert finding.evidence["differs_in"] == "status"
    assert (finding.evidence["wrong_password_status"], finding.evidence["unknown_user_status"]) == (401, 404)
    assert clean.of("API2-USER-ENUMERATION") == []
    notes = clean.result.details["notes"]  # no note: the clean login was compared, not skipped
    assert isinstance(notes, list) and not any("user enumeration" in str(note) for note in notes)


def test_the_probes_make_only_their_own_findings_and_never_show_a_token(
    vulnerable: Scanned, clean: Scanned
) -> None:
    for scanned in (vulnerable, clean):
        assert {f.rule.id for f in scanned.result.findings} <= set(RULES)
        tokens = [i.token for i in scanned.identities]
        signatures = [t.rsplit(".", 1)[1] for t in tokens]
        for finding in scanned.result.findings:
            shown = finding.message + repr(finding.evidence)
            assert not any(t in shown for t in tokens + signatures), finding


def test_the_probes_stay_within_a_small_number_of_requests(vulnerable: Scanned, clean: Scanned) -> None:
    for scanned in (vulnerable, clean):
        requests = scanned.result.details["requests"]
        assert isinstance(requests, int) and 0 < requests <= 100, requests
