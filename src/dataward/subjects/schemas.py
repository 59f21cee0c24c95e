"""Request and response bodies of the subject API. Unknown keys are refused."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

__all__ = ["CreateSubject", "Created", "LookupRequest", "LookupResult", "SubjectView", "WithheldField"]

Name = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,62}$")]
FieldPath = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,62}\.[a-z][a-z0-9_-]{0,62}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CreateSubject(_Strict):
    region: Name | None = None


class Created(_Strict):
    id: str


class LookupRequest(_Strict):
    field: FieldPath
    value: Annotated[str | int | bool, Field(description="Compared after the field type's normalisation.")]
    purpose: Name


class LookupResult(_Strict):
    ids: list[str]


class WithheldField(_Strict):
    field: str
    reason: str


class SubjectView(_Strict):
    id: str
    purpose: str
    data: dict[str, dict[str, Any]]
    withheld: list[WithheldField]
