"""Rules that relate one part of the policy to another: every name used is declared, special-category
data has an Art. 9(2) condition, transfers to third countries have a mechanism on record, identity
providers hand out roles that exist."""

from __future__ import annotations

from dataward.errors import Problem
from dataward.policy.geography import ADEQUATE_COUNTRIES
from dataward.policy.models import LegalBasis, Policy

__all__ = ["check_references"]

_SUBJECT_ROLE = "subject"  # `dataward.identity.tokens.SUBJECT_ROLE`: the policy does not import identity
_MAX_PROVIDER_NAME = 32
_RESERVED_COLLECTIONS = frozenset({"consents", "lookup", "report", "export", "requests", "objections"})


def check_references(policy: Policy) -> list[Problem]:
    problems: list[Problem] = []
    problems += _purpose_problems(policy)
    problems += _name_problems(policy)
    problems += _processor_problems(policy)
    problems += _identity_provider_problems(policy)
    for name, collection in policy.collections.items():
        if name in _RESERVED_COLLECTIONS:
            problems.append(
                Problem(f"collections.{name}", f"{name} is a reserved name (it is a path of the API)")
            )
        for field_name, spec in collection.fields.items():
            if collection.multiple and spec.searchable:
                at = f"collections.{name}.fields.{field_name}.searchable"
                problems.append(
                    Problem(at, "a collection with many records per subject has no searchable fields")
                )
    defaults = [name for name, region in policy.regions.items() if region.default]
    if len(defaults) != 1:
        problems.append(Problem("regions", f"exactly one region must be default, found {len(defaults)}"))
    for name, region in policy.regions.items():
        if region.default and (region.database_url_env or region.keystore_url_env):
            problems.append(Problem(f"regions.{name}", "the default region uses the vault's own database"))
        if not region.default and region.database_url_env is None:
            problems.append(
                Problem(f"regions.{name}.database_url_env", "name the variable that holds its database URL")
            )
    return problems


def _purpose_problems(policy: Policy) -> list[Problem]:
    problems: list[Problem] = []
    for name, purpose in policy.purposes.items():
        at = f"purposes.{name}"
        for i, ref in enumerate(purpose.fields):
            collection, _, field = ref.partition(".")
            if collection not in policy.collections:
                problems.append(Problem(f"{at}.fields[{i}]", f"unknown collection {collection}"))
            elif field != "*" and field not in policy.collections[collection].fields:
                problems.append(Problem(f"{at}.fields[{i}]", f"unknown field {ref}"))
        if purpose.explicit_consent and purpose.legal_basis is not LegalBasis.CONSENT:
            problems.append(Problem(f"{at}.explicit_consent", "explicit consent needs legal_basis: consent"))
        special = [f for f in policy.purpose_fields(name) if _is_special(policy, f)]
        if special and not (purpose.explicit_consent or purpose.art9_condition):
            problems.append(
                Problem(
                    f"{at}.legal_basis",
                    f"uses special-category data ({', '.join(sorted(special))}): set "
                    "explicit_consent: true with legal_basis: consent, or name its art9_condition",
                )
            )
    return problems


def _name_problems(policy: Policy) -> list[Problem]:
    problems: list[Problem] = []
    for name, role in policy.roles.items():
        for i, purpose in enumerate(role.purposes):
            if purpose not in policy.purposes:
                problems.append(Problem(f"roles.{name}.purposes[{i}]", f"unknown purpose {purpose}"))
    for name, processor in policy.processors.items():
        for i, purpose in enumerate(processor.purposes):
            if purpose not in policy.purposes:
                problems.append(Problem(f"processors.{name}.purposes[{i}]", f"unknown purpose {purpose}"))
    for limited in policy.rate_limits.roles:
        if limited not in policy.roles:
            problems.append(Problem(f"rate_limits.roles.{limited}", f"unknown role {limited}"))
    return problems


def _processor_problems(policy: Policy) -> list[Problem]:
    problems: list[Problem] = []
    for name, processor in policy.processors.items():
        at = f"processors.{name}.transfer_mechanism"
        if processor.third_country and processor.transfer_mechanism is None:
            problems.append(
                Problem(at, f"{processor.country} is a third country: a transfer mechanism is required")
            )
        if processor.transfer_mechanism == "adequacy" and processor.country not in ADEQUATE_COUNTRIES:
            problems.append(Problem(at, f"{processor.country} has no EU adequacy decision"))
    return problems


def _identity_provider_problems(policy: Policy) -> list[Problem]:
    """A provider's role is the policy's to give: it must exist and may not be a data subject's.
    Client ids are `<provider>:<client>` in 64 characters, so a provider's name is kept short. That
    an issuer is not the vault's own is checked where the settings are known (`Vault.build`)."""
    problems: list[Problem] = []
    issuers: dict[str, str] = {}
    for name, provider in policy.identity_providers.items():
        at = f"identity_providers.{name}"
        if len(name) > _MAX_PROVIDER_NAME:
            problems.append(Problem(at, f"a provider's name has at most {_MAX_PROVIDER_NAME} characters"))
        if provider.role == _SUBJECT_ROLE:
            problems.append(Problem(f"{at}.role", "a data subject's token cannot come from a provider"))
        elif provider.role not in policy.roles:
            problems.append(Problem(f"{at}.role", f"unknown role {provider.role}"))
        if provider.issuer in issuers:
            other = issuers[provider.issuer]
            problems.append(Problem(f"{at}.issuer", f"{other} has this issuer: each names one provider"))
        issuers.setdefault(provider.issuer, name)
    return problems


def _is_special(policy: Policy, path: str) -> bool:
    spec = policy.field(path)
    return spec is not None and spec.special_category
