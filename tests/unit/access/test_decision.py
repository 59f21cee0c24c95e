"""The decision point: deny by default, purpose on every read, consent where the purpose needs it."""

from __future__ import annotations

import pytest

from dataward.access import ConsentStatus, Forbidden, Withheld, authorize, decide_access
from dataward.identity import Principal
from dataward.policy import Action, Policy
from dataward.subjects.service import SubjectState


def principal(role: str, purposes: set[str]) -> Principal:
    return Principal(client_id="dw_test", role=role, purposes=frozenset(purposes), token_id="t", expires_at=0)


def test_billing_gets_exactly_its_fields(policy: Policy) -> None:
    decision = decide_access(principal("billing-service", {"billing"}), "billing", policy, None)
    orders = {"orders.product", "orders.amount_cents", "orders.ordered_on"}
    assert decision.allowed == {"profile.email", "profile.full_name", "profile.country"} | orders
    assert decision.withheld == {
        "profile.phone": Withheld.NOT_IN_PURPOSE,
        "profile.birth_date": Withheld.NOT_IN_PURPOSE,
        "health.allergies": Withheld.NOT_IN_PURPOSE,
    }


def test_every_field_is_either_allowed_or_withheld(policy: Policy) -> None:
    for role_name, role in policy.roles.items():
        for purpose in role.purposes:
            consent = ConsentStatus.GIVEN if policy.purposes[purpose].needs_consent else None
            decision = decide_access(principal(role_name, {purpose}), purpose, policy, consent)
            assert decision.allowed | set(decision.withheld) == set(policy.field_paths())
            assert not decision.allowed & set(decision.withheld)


@pytest.mark.parametrize(
    ("consent", "reason"),
    [(ConsentStatus.NEVER_GIVEN, Withheld.NO_CONSENT), (ConsentStatus.WITHDRAWN, Withheld.CONSENT_WITHDRAWN)],
)
def test_consent_purposes_return_nothing_without_consent(
    policy: Policy, consent: ConsentStatus, reason: Withheld
) -> None:
    decision = decide_access(principal("care-team", {"care"}), "care", policy, consent)
    assert decision.allowed == frozenset()
    assert decision.withheld["health.allergies"] is reason
    assert decision.withheld["profile.full_name"] is reason


def test_given_consent_opens_the_purpose_fields(policy: Policy) -> None:
    decision = decide_access(principal("care-team", {"care"}), "care", policy, ConsentStatus.GIVEN)
    assert decision.allowed == {"health.allergies", "profile.full_name"}


@pytest.mark.parametrize(
    ("role", "token_purposes", "purpose"),
    [
        ("billing-service", {"billing"}, "marketing"),  # the role may not use it
        ("support-agent", {"billing"}, "billing"),  # the token carries it, the role does not
        ("newsletter", set(), "marketing"),  # the role may, the token was narrowed
        ("billing-service", {"billing", "nonexistent"}, "nonexistent"),  # not in the policy
        ("auditor", set(), "support"),  # no read action at all
        ("no-such-role", {"billing"}, "billing"),  # a role the policy does not know
    ],
)
def test_refusals(policy: Policy, role: str, token_purposes: set[str], purpose: str) -> None:
    with pytest.raises(Forbidden):
        decide_access(principal(role, token_purposes), purpose, policy, ConsentStatus.GIVEN)


def test_authorize_checks_the_action(policy: Policy) -> None:
    assert authorize(principal("signup", set()), Action.CREATE, policy) is policy.roles["signup"]
    with pytest.raises(Forbidden, match="may not read"):
        authorize(principal("signup", set()), Action.READ, policy)
    with pytest.raises(Forbidden):
        authorize(principal("billing-service", {"billing"}), Action.AUDIT_READ, policy)


@pytest.mark.parametrize(
    ("state", "purpose", "role", "reason"),
    [
        (SubjectState(erased=True), "support", "support-agent", Withheld.ERASED),
        (SubjectState(erased=True), "billing", "billing-service", Withheld.ERASED),
        (SubjectState(erased=True), "invoicing", "accounting", None),  # the obligation that keeps
        (SubjectState(restricted=True), "support", "support-agent", Withheld.RESTRICTED),
        (SubjectState(restricted=True), "disputes", "legal", None),  # legal claims (Art. 18(2))
        (SubjectState(objected=True), "support", "support-agent", Withheld.OBJECTED),  # legitimate interests
        (SubjectState(objected=True), "billing", "billing-service", None),  # a contract: no objection
        (SubjectState(objected=True), "marketing", "newsletter", Withheld.OBJECTED),  # absolute (Art. 21(3))
    ],
)
def test_the_subjects_choices_come_before_the_callers_purpose(
    policy: Policy, state: SubjectState, purpose: str, role: str, reason: Withheld | None
) -> None:
    consent = ConsentStatus.GIVEN if policy.purposes[purpose].needs_consent else None
    decision = decide_access(principal(role, {purpose}), purpose, policy, consent, state)
    fields = policy.purpose_fields(purpose)
    if reason is None:
        assert decision.allowed == fields
    else:
        assert decision.allowed == frozenset()
        assert {decision.withheld[f] for f in fields} == {reason}
