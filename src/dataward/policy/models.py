"""Typed models of the policy file. Field-level rules live here; rules that relate one part of the
file to another (a purpose naming a field, a role naming a purpose) live in `references.py`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal

import isodate
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, StringConstraints, field_validator

from dataward.policy import geography, taxonomy
from dataward.policy.edge import AnomalyRules, IdentityProvider, RateLimits, Webhook

__all__ = [
    "Action",
    "Collection",
    "Controller",
    "FieldSpec",
    "FieldType",
    "LegalBasis",
    "Policy",
    "Processor",
    "Purpose",
    "Region",
    "Role",
    "TransferMechanism",
    "Webhook",
]

Name = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,62}$")]
FieldRef = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]*\.([a-z][a-z0-9_-]*|\*)$")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=2000)]


class FieldType(StrEnum):
    STRING = "string"
    EMAIL = "email"
    PHONE = "phone"
    DATE = "date"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    COUNTRY = "country"


class LegalBasis(StrEnum):
    """The six lawful bases of GDPR Art. 6(1)."""

    CONSENT = "consent"
    CONTRACT = "contract"
    LEGAL_OBLIGATION = "legal_obligation"
    VITAL_INTERESTS = "vital_interests"
    PUBLIC_TASK = "public_task"
    LEGITIMATE_INTERESTS = "legitimate_interests"


class Action(StrEnum):
    CREATE = "create"
    WRITE = "write"
    READ = "read"
    AUDIT_READ = "audit.read"
    RIGHTS_HANDLE = "rights.handle"  # receive, verify, progress, refuse and extend rights requests
    RIGHTS_APPROVE = "rights.approve"  # approve an erasure that someone else handles
    INCIDENTS = "incidents"  # open incidents and size them from the audit log
    RECORDS_READ = "records.read"  # the records of processing (Art. 30)
    TOKENS_INTROSPECT = "tokens.introspect"  # introspect any client's token (RFC 7662), not only its own


class TransferMechanism(StrEnum):
    """How a transfer to a third country is made lawful (GDPR Chapter V)."""

    ADEQUACY = "adequacy"
    SCC = "scc"
    BCR = "bcr"
    DEROGATION = "derogation"


Art9Condition = Literal[
    "9(2)(a)", "9(2)(b)", "9(2)(c)", "9(2)(d)", "9(2)(e)",
    "9(2)(f)", "9(2)(g)", "9(2)(h)", "9(2)(i)", "9(2)(j)",
]  # fmt: skip


DEFAULT_SECURITY_MEASURES: tuple[str, ...] = (
    "Every field encrypted at rest (AES-256-GCM) under a per-subject key, wrapped by a key-encryption key",
    "Erasure destroys the subject's key (crypto-shredding), which also reaches backups",
    "Every read bound to a declared purpose, the caller's role and the subject's consent",
    "Short-lived signed access tokens (EdDSA), client secrets hashed with Argon2",
    "A tamper-evident, hash-chained and signed audit log of every access",
    "TLS for every connection off the local machine",
)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)


class Controller(_Model):
    name: Text
    contact: Text
    dpo_contact: Text
    eu_representative: Text | None = None
    supervisory_authority: Text = Field(
        default="the data protection authority of your country of residence",
        description="Where a subject may lodge a complaint (Art. 15(1)(f), 77).",
    )


class FieldSpec(_Model):
    type: FieldType
    category: str
    special_category: bool = False
    searchable: bool = False
    description: Text | None = None

    @field_validator("category")
    @classmethod
    def _known_category(cls, value: str) -> str:
        if value not in taxonomy.data_categories():
            raise ValueError(f"unknown data category {value} (not in the fideslang taxonomy)")
        return value


class Collection(_Model):
    description: Text | None = None
    multiple: bool = Field(
        default=False,
        description="Many records per subject (orders, invoices, messages); else one (a profile).",
    )
    data_subjects: list[Text] = Field(
        default_factory=lambda: ["customers"],
        min_length=1,
        description="Categories of data subjects the collection is about (Art. 30(1)(c)).",
    )
    fields: dict[Name, FieldSpec] = Field(min_length=1)


class Purpose(_Model):
    description: Text
    legal_basis: LegalBasis
    data_use: str
    fields: list[FieldRef] = Field(min_length=1)
    retention: str
    explicit_consent: bool = False
    art9_condition: Art9Condition | None = None
    legal_claims: bool = Field(
        default=False,
        description="Establishing, exercising or defending legal claims: the one use that a "
        "restriction (Art. 18(2)) still allows.",
    )
    source: Text = Field(
        default="the data subject", description="Where the data comes from (Art. 14(2)(f), 15(1)(g))."
    )
    automated_decision: Text | None = Field(
        default=None,
        description="Automated decision-making under Art. 22: the logic involved and its consequences.",
    )

    @field_validator("data_use")
    @classmethod
    def _known_data_use(cls, value: str) -> str:
        if value not in taxonomy.data_uses():
            raise ValueError(f"unknown data use {value} (not in the fideslang taxonomy)")
        return value

    @field_validator("retention")
    @classmethod
    def _iso_duration(cls, value: str) -> str:
        if _duration(value) <= timedelta(0):
            raise ValueError("retention must be longer than zero")
        return value

    @property
    def retention_period(self) -> timedelta:
        """The retention as a length of time (months and years counted from 2000-01-01)."""
        return _duration(self.retention)

    @property
    def needs_consent(self) -> bool:
        """Processing rests on the subject's consent, so a read needs consent given and not withdrawn."""
        return self.legal_basis is LegalBasis.CONSENT

    @property
    def direct_marketing(self) -> bool:
        """An objection to direct marketing is absolute (Art. 21(3))."""
        return self.data_use.split(".")[0] == "marketing"

    @property
    def objectionable(self) -> bool:
        """The subject may object (Art. 21): processing on legitimate interests or a public task,
        and direct marketing whatever its basis."""
        basis = self.legal_basis
        return basis in (LegalBasis.LEGITIMATE_INTERESTS, LegalBasis.PUBLIC_TASK) or self.direct_marketing

    @property
    def keeps_after_erasure(self) -> bool:
        """A legal obligation keeps the data it covers through an erasure (Art. 17(3)(b))."""
        return self.legal_basis is LegalBasis.LEGAL_OBLIGATION


class Role(_Model):
    description: Text | None = None
    actions: list[Action] = Field(min_length=1)
    purposes: list[Name] = Field(default_factory=list)


class Processor(_Model):
    name: Text
    country: str
    transfer_mechanism: TransferMechanism | None = None
    purposes: list[Name] = Field(min_length=1)
    dpa: Text = Field(description="Reference to the signed data-processing agreement (Art. 28).")
    webhook: Webhook | None = None

    @field_validator("country")
    @classmethod
    def _country(cls, value: str) -> str:
        if not geography.is_country_code(value):
            raise ValueError(f"not an ISO 3166-1 alpha-2 country code: {value!r}")
        return value

    @property
    def third_country(self) -> bool:
        return self.country not in geography.EEA_COUNTRIES


EnvName = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_]{0,62}$")]


class Region(_Model):
    """Where subjects' data lives. The default region uses the vault's own database; any other
    names the environment variables that hold its database URL and, optionally, its key store's
    (never the URLs themselves: they carry passwords)."""

    description: Text | None = None
    default: bool = False
    database_url_env: EnvName | None = None
    keystore_url_env: EnvName | None = None


class Policy(_Model):
    version: Literal[1] = 1
    controller: Controller
    collections: dict[Name, Collection] = Field(min_length=1)
    purposes: dict[Name, Purpose] = Field(min_length=1)
    roles: dict[Name, Role] = Field(min_length=1)
    processors: dict[Name, Processor] = Field(default_factory=dict)
    regions: dict[Name, Region] = Field(min_length=1)
    rate_limits: RateLimits = Field(default_factory=RateLimits)
    anomaly: AnomalyRules = Field(default_factory=AnomalyRules)
    identity_providers: dict[Name, IdentityProvider] = Field(
        default_factory=dict, description="External issuers whose access tokens are accepted."
    )
    security_measures: list[Text] = Field(
        default_factory=lambda: list(DEFAULT_SECURITY_MEASURES),
        description="Technical and organisational measures (Art. 30(1)(g), 32).",
    )

    _purpose_fields: dict[str, frozenset[str]] = PrivateAttr(default_factory=dict)

    def model_post_init(self, context: object, /) -> None:
        self._purpose_fields = {
            name: frozenset(self.expand(purpose.fields)) for name, purpose in self.purposes.items()
        }

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Policy:
        """A copy whose derived tables follow `update` (a plain copy would share the original's)."""
        copied = super().model_copy(update=update, deep=deep)
        copied.model_post_init(None)
        return copied

    def field_paths(self) -> list[str]:
        """Every field as `collection.field`, in file order."""
        return [f"{c}.{f}" for c, coll in self.collections.items() for f in coll.fields]

    def field(self, path: str) -> FieldSpec | None:
        collection, _, name = path.partition(".")
        coll = self.collections.get(collection)
        return coll.fields.get(name) if coll else None

    def expand(self, refs: list[str]) -> list[str]:
        """Field references with `collection.*` spelled out; unknown references are dropped."""
        out: list[str] = []
        for ref in refs:
            collection, _, name = ref.partition(".")
            coll = self.collections.get(collection)
            if coll is None:
                continue
            names = list(coll.fields) if name == "*" else [name] if name in coll.fields else []
            out.extend(f"{collection}.{n}" for n in names if f"{collection}.{n}" not in out)
        return out

    def purpose_fields(self, purpose: str) -> frozenset[str]:
        """The fields (`collection.field`) that a purpose may use."""
        return self._purpose_fields.get(purpose, frozenset())

    @property
    def default_region(self) -> str:
        return next((name for name, r in self.regions.items() if r.default), next(iter(self.regions)))


_EPOCH = isodate.parse_datetime("2000-01-01T00:00:00Z")


def _duration(value: str) -> timedelta:
    try:
        parsed = isodate.parse_duration(value)
    except (isodate.ISO8601Error, ValueError):
        raise ValueError(f"not an ISO 8601 duration: {value!r} (try P30D or P7Y)") from None
    if isinstance(parsed, timedelta):
        return parsed
    delta: timedelta = parsed.totimedelta(start=_EPOCH)
    return delta
