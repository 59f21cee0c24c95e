"""One decision point for every access.

`authorize` answers "may this caller do this action at all"; `decide_access` answers, for a read
under a purpose, which fields the caller gets and why each other field is withheld. Nothing is
allowed unless the policy says so: an unknown role, action or purpose is a refusal.

The subject's own choices come before the caller's wishes: an erased subject's remains serve only
the legal obligation that keeps them (Art. 17(3)(b)), restricted data serves only legal claims
(Art. 18(2)), and an objection stops the purpose it names (Art. 21).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from dataward.access.errors import Forbidden
from dataward.identity import Principal
from dataward.policy import Action, Policy, Purpose, Role
from dataward.subjects.service import SubjectState

__all__ = [
    "ConsentStatus",
    "Decision",
    "Withheld",
    "authorize",
    "decide_access",
    "permitted_purpose",
    "subject_refusal",
]


class ConsentStatus(StrEnum):
    GIVEN = "given"
    WITHDRAWN = "withdrawn"
    NEVER_GIVEN = "never_given"


class Withheld(StrEnum):
    """Why a field was not returned."""

    NOT_IN_PURPOSE = "not_in_purpose"
    NO_CONSENT = "no_consent"
    CONSENT_WITHDRAWN = "consent_withdrawn"
    ERASED = "erased"
    RESTRICTED = "restricted"
    OBJECTED = "objected"
    INTEGRITY_ERROR = "integrity_error"


@dataclass(frozen=True, slots=True)
class Decision:
    purpose: str
    allowed: frozenset[str]
    withheld: dict[str, Withheld] = field(default_factory=dict)


def authorize(principal: Principal, action: Action, policy: Policy) -> Role:
    """The caller's role, if it may perform `action`; `Forbidden` otherwise."""
    role = policy.roles.get(principal.role)
    if role is None or action not in role.actions:
        raise Forbidden(f"role {principal.role} may not {action}")
    return role


def permitted_purpose(principal: Principal, purpose: str, policy: Policy) -> None:
    """Refuse a purpose the policy does not declare, the role may not use, or the token lacks."""
    role = authorize(principal, Action.READ, policy)
    if purpose not in policy.purposes:
        raise Forbidden(f"unknown purpose {purpose}")
    if purpose not in role.purposes:
        raise Forbidden(f"role {principal.role} may not use purpose {purpose}")
    if purpose not in principal.purposes:
        raise Forbidden(f"the token does not carry purpose {purpose}")


def decide_access(
    principal: Principal,
    purpose: str,
    policy: Policy,
    consent: ConsentStatus | None,
    state: SubjectState = SubjectState(),  # noqa: B008 - immutable: nothing asked for
) -> Decision:
    """Which fields a read for `purpose` may return. `consent` is the subject's consent to the purpose
    (None when the purpose does not rest on consent); `state` what the subject asked for."""
    permitted_purpose(principal, purpose, policy)
    allowed = policy.purpose_fields(purpose)
    withheld = {path: Withheld.NOT_IN_PURPOSE for path in policy.field_paths() if path not in allowed}
    refusal = subject_refusal(policy.purposes[purpose], consent, state)
    if refusal is not None:
        withheld.update(dict.fromkeys(allowed, refusal))
        allowed = frozenset()
    return Decision(purpose=purpose, allowed=allowed, withheld=withheld)


def subject_refusal(purpose: Purpose, consent: ConsentStatus | None, state: SubjectState) -> Withheld | None:
    """Why the subject's own choices keep `purpose` from their data, or None when they do not."""
    if state.erased and not purpose.keeps_after_erasure:
        return Withheld.ERASED
    if state.restricted and not purpose.legal_claims:
        return Withheld.RESTRICTED
    if state.objected and purpose.objectionable:
        return Withheld.OBJECTED
    if purpose.needs_consent and consent is not ConsentStatus.GIVEN:
        return Withheld.CONSENT_WITHDRAWN if consent is ConsentStatus.WITHDRAWN else Withheld.NO_CONSENT
    return None
