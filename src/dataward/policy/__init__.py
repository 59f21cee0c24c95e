"""The policy file (`dataward.yaml`): privacy as code. Everything else is derived from it."""

from dataward.policy.errors import PolicyError
from dataward.policy.loader import load_policy, parse_policy
from dataward.policy.models import (
    Action,
    Collection,
    FieldSpec,
    FieldType,
    LegalBasis,
    Policy,
    Processor,
    Purpose,
    Region,
    Role,
)

__all__ = [
    "Action",
    "Collection",
    "FieldSpec",
    "FieldType",
    "LegalBasis",
    "Policy",
    "PolicyError",
    "Processor",
    "Purpose",
    "Region",
    "Role",
    "load_policy",
    "parse_policy",
]
