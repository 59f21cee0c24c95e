"""What a data subject is told about the processing of their data (GDPR Art. 15(1)(a)-(h), 15(2)),
derived from the policy and limited to the purposes that use at least one field the subject has.

The values themselves and the consent history come from the vault; this is the policy's half of
the access report, so every report says the same thing for the same policy and the same fields.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

from dataward.policy.models import LegalBasis, Policy, Purpose
from dataward.policy.records import (
    category_as_dict,
    data_categories_of,
    recipient,
    recipient_as_dict,
    recipients_of,
)
from dataward.policy.wording import legal_basis_article, legal_basis_label, retention_in_words

__all__ = ["NO_AUTOMATED_DECISIONS", "subject_information"]

NO_AUTOMATED_DECISIONS = (
    "No decision based solely on automated processing, including profiling, that produces legal "
    "effects concerning you or similarly significantly affects you is made about you (Art. 22)."
)


def subject_information(
    policy: Policy, held_fields: Collection[str], stopped: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Art. 15 information for a subject who has data in `held_fields` (`collection.field` paths).
    `stopped` names the purposes that the subject's own choices keep from the data (erasure,
    restriction, objection, consent not given), with the reason: they are listed apart, not as
    processing that goes on. Everything is in policy file order."""
    wanted = set(held_fields)
    stopped = stopped or {}
    held = [path for path in policy.field_paths() if path in wanted]
    using = [name for name in policy.purposes if policy.purpose_fields(name) & wanted]
    purposes = {name: policy.purposes[name] for name in using if name not in stopped}
    recipients = _recipients(policy, purposes)
    c = policy.controller
    return {
        "controller": {
            "name": c.name,
            "contact": c.contact,
            "dpo_contact": c.dpo_contact,
            "eu_representative": c.eu_representative,
        },
        "purposes": [_purpose(policy, name, p, held) for name, p in purposes.items()],  # 15(1)(a)
        "data_categories": _categories(policy, held),  # 15(1)(b)
        "recipients": recipients,  # 15(1)(c)
        "retention": [  # 15(1)(d)
            {"purpose": name, "retention": p.retention, "retention_in_words": retention_in_words(p.retention)}
            for name, p in purposes.items()
        ],
        "rights": _rights(purposes),  # 15(1)(e)
        "complaint": {  # 15(1)(f)
            "article": "Art. 77",
            "supervisory_authority": c.supervisory_authority,
            "description": "You may lodge a complaint with a supervisory authority, in particular in the "
            "Member State of your habitual residence, place of work or of the alleged infringement.",
        },
        "sources": _sources(purposes),  # 15(1)(g)
        "automated_decision_making": _automated(purposes),  # 15(1)(h)
        "transfers": [dict(r) for r in recipients if r["third_country"]],  # 15(2)
        "stopped_purposes": [{"purpose": name, "reason": stopped[name]} for name in using if name in stopped],
    }


def _purpose(policy: Policy, name: str, purpose: Purpose, held: list[str]) -> dict[str, Any]:
    fields = [path for path in held if path in policy.purpose_fields(name)]
    return {
        "purpose": name,
        "description": purpose.description,
        "legal_basis": purpose.legal_basis.value,
        "legal_basis_article": legal_basis_article(purpose.legal_basis),
        "legal_basis_label": legal_basis_label(purpose.legal_basis),
        "data_use": purpose.data_use,
        "fields": fields,
        "data_categories": [category_as_dict(d) for d in data_categories_of(policy, purpose, fields)],
        "recipients": [r.processor for r in recipients_of(policy, name)],
        "retention": purpose.retention,
        "retention_in_words": retention_in_words(purpose.retention),
        "source": purpose.source,
        "automated_decision": purpose.automated_decision,
    }


def _categories(policy: Policy, held: list[str]) -> list[dict[str, Any]]:
    grouped: dict[str, dict[str, Any]] = {}
    for path in held:
        spec = policy.field(path)
        if spec is not None:
            entry = grouped.setdefault(
                spec.category, {"category": spec.category, "fields": [], "special_category": False}
            )
            entry["fields"].append(path)
            entry["special_category"] = entry["special_category"] or spec.special_category
    return list(grouped.values())


def _recipients(policy: Policy, purposes: dict[str, Purpose]) -> list[dict[str, Any]]:
    """The processors serving the subject's purposes. The DPA reference stays in the records of
    processing: it names an internal document, not something the subject can use."""
    out = []
    for key, processor in policy.processors.items():
        serving = [name for name in purposes if name in processor.purposes]
        if serving:
            entry = recipient_as_dict(recipient(key, processor))
            del entry["dpa"]
            out.append({**entry, "purposes": serving})
    return out


def _sources(purposes: dict[str, Purpose]) -> list[dict[str, Any]]:
    sources: dict[str, list[str]] = {}
    for name, purpose in purposes.items():
        sources.setdefault(purpose.source, []).append(name)
    return [{"source": source, "purposes": names} for source, names in sources.items()]


def _automated(purposes: dict[str, Purpose]) -> dict[str, Any]:
    decisions = [
        {"purpose": name, "logic": p.automated_decision}
        for name, p in purposes.items()
        if p.automated_decision
    ]
    return {
        "article": "Art. 22",
        "takes_place": bool(decisions),
        "decisions": decisions,
        "statement": (
            "Decisions based solely on automated processing are made for the purposes listed, with "
            "the logic involved and its consequences. You may ask for human intervention, express "
            "your point of view and contest the decision (Art. 22(3))."
            if decisions
            else NO_AUTOMATED_DECISIONS
        ),
    }


# Art. 15(1)(e) asks that the first four are always stated; the last two only where they apply.
_ALWAYS_STATED = frozenset({"rectification", "erasure", "restriction", "objection"})
_RIGHTS: dict[str, tuple[str, str, str]] = {
    "rectification": (
        "Rectification",
        "Art. 16",
        "Have inaccurate personal data about you corrected and incomplete data completed.",
    ),
    "erasure": ("Erasure", "Art. 17", "Have your personal data erased."),
    "restriction": (
        "Restriction of processing",
        "Art. 18",
        "Have the processing of your data restricted, for example while its accuracy is checked.",
    ),
    "objection": (
        "Objection",
        "Art. 21",
        "Object to processing based on legitimate interests or a public task, on grounds relating to "
        "your particular situation, and at any time to direct marketing.",
    ),
    "portability": (
        "Data portability",
        "Art. 20",
        "Receive the data you provided in a structured, commonly used, machine-readable format and "
        "have it sent to another controller.",
    ),
    "withdraw_consent": (
        "Withdrawing consent",
        "Art. 7(3)",
        "Withdraw your consent at any time, as easily as you gave it; processing before the "
        "withdrawal stays lawful.",
    ),
}


def _rights(purposes: dict[str, Purpose]) -> list[dict[str, Any]]:
    def having(test: Callable[[Purpose], bool]) -> list[str]:
        return [name for name, purpose in purposes.items() if test(purpose)]

    portable = (LegalBasis.CONSENT, LegalBasis.CONTRACT)  # Art. 20(1)(a)
    applies = {
        "rectification": list(purposes),
        "erasure": list(purposes),
        "restriction": list(purposes),
        "objection": having(lambda p: p.objectionable),
        "portability": having(lambda p: p.legal_basis in portable),
        "withdraw_consent": having(lambda p: p.needs_consent),
    }
    notes: dict[str, list[str]] = {key: [] for key in _RIGHTS}
    if kept := having(lambda p: p.keeps_after_erasure):
        notes["erasure"].append(
            f"Data used for {', '.join(kept)} is kept while a legal obligation requires it (Art. 17(3)(b))."
        )
    if claims := having(lambda p: p.legal_claims):
        notes["restriction"].append(
            f"While restricted, data may still be used for {', '.join(claims)} to establish, exercise "
            "or defend legal claims (Art. 18(2))."
        )
    if marketing := having(lambda p: p.direct_marketing):
        notes["objection"].append(
            f"An objection to {', '.join(marketing)} (direct marketing) always stops it (Art. 21(3))."
        )
    if not applies["objection"]:
        notes["objection"].append("None of the processing of your data rests on these grounds.")
    return [
        {
            "right": key,
            "title": title,
            "article": article,
            "description": description,
            "applies_to": applies[key],
            "notes": notes[key],
        }
        for key, (title, article, description) in _RIGHTS.items()
        if applies[key] or key in _ALWAYS_STATED
    ]
