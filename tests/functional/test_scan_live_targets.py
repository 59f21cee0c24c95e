"""`scan live` as a whole, every probe in its order, on the served scan targets: every flaw the
vulnerable Acme HR plants is found where the manifest says, and its clean twin gives no finding.
(Each probe has its own tests in test_scan_live_auth.py, _access.py and _abuse.py.)"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dataward.scanner.document import parse_document
from dataward.scanner.live.context import Identity
from dataward.scanner.live_scan import scan_live
from dataward.scanner.results import ScanResult
from scan_targets import manifest
from scan_targets.manifest import Planted
from support import serving_target


def _scan(name: str, folder: Path) -> Iterator[ScanResult]:
    with serving_target(name, folder) as target:
        document = parse_document(target.spec_path.read_text(encoding="utf-8"), str(target.spec_path))
        identities = [Identity(who, target.token(who)) for who in ("alice", "bob")]
        yield scan_live(document, target.base_url, identities, allow_destructive=True)


@pytest.fixture(scope="module")
def vulnerable(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScanResult]:
    yield from _scan("vulnerable_api", tmp_path_factory.mktemp("vulnerable"))


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScanResult]:
    yield from _scan("clean_api", tmp_path_factory.mktemp("clean"))


@pytest.mark.parametrize(
    "planted", manifest.VULNERABLE_LIVE_FLAWS, ids=lambda p: f"{p.rule_id} {p.method} {p.path}"
)
def test_every_planted_flaw_is_found(planted: Planted, vulnerable: ScanResult) -> None:
    places = {
        (f.location.method, f.location.path) for f in vulnerable.findings if f.rule.id == planted.rule_id
    }
    assert places, f"{planted.rule_id} not reported"
    if planted.method is not None:
        assert (planted.method, planted.path) in places


def test_the_clean_twin_gives_no_finding(clean: ScanResult) -> None:
    assert [(f.rule.id, f.location.operation, f.message) for f in clean.findings] == []
    assert int(str(clean.details["requests"])) > 100  # the probes ran against it


def test_the_scan_stays_within_its_default_budget(vulnerable: ScanResult) -> None:
    assert 100 < int(str(vulnerable.details["requests"])) < 2000
    assert vulnerable.details["notes"] == []  # nothing was cut short
