"""The clean Acme HR's documents, each visible to its owner only, and the caller's own account."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from scan_targets._clean_auth import Caller, Store
from scan_targets._clean_http import PII, Cursor, Limit, answers, page, purpose, rate_limited
from scan_targets._clean_state import Account, CleanStore, StoredDocument

__all__ = ["router"]

router = APIRouter()

HR = "hr-administration"
DocumentId = Annotated[uuid.UUID, Path(description="A document's id")]
Tag = Annotated[str, Field(min_length=1, max_length=30, pattern=r"^[a-z0-9-]{1,30}$")]


class DocumentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    body: str = Field(max_length=10_000)
    tags: list[Tag] = Field(default_factory=list, max_length=10)


class Document(BaseModel):
    id: uuid.UUID
    title: str
    body: str
    tags: list[str]
    created_at: datetime


class DocumentPage(BaseModel):
    items: list[Document]
    next_cursor: str | None


class Profile(BaseModel):
    username: Annotated[str, Field(json_schema_extra=PII)]
    display_name: Annotated[str, Field(json_schema_extra=PII)]
    email: Annotated[str, Field(json_schema_extra=PII)]
    role: Literal["employee", "admin"]
    employee_id: uuid.UUID


class ProfileUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    display_name: str = Field(min_length=1, max_length=100, json_schema_extra=PII)


def _document(document: StoredDocument) -> Document:
    return Document(id=document.id, title=document.title, body=document.body, tags=document.tags,
                    created_at=document.created_at)  # fmt: skip


def _own(store: CleanStore, document_id: uuid.UUID, caller: Account) -> StoredDocument:
    document = store.documents.get(document_id)
    if document is None or document.owner != caller.username:  # another's is none of the caller's business
        raise HTTPException(404, "No such document.")
    return document


@router.get(
    "/documents",
    responses=answers(401, 403, 422),
    openapi_extra=purpose(HR),
    dependencies=[Depends(rate_limited("documents"))],
    tags=["documents"],
)
def list_documents(store: Store, caller: Caller, limit: Limit = 50, cursor: Cursor = None) -> DocumentPage:
    mine = [_document(d) for d in store.documents.values() if d.owner == caller.username]
    items, next_cursor = page(mine, limit, cursor)
    return DocumentPage(items=items, next_cursor=next_cursor)


@router.post(
    "/documents",
    status_code=201,
    responses=answers(401, 403, 422),
    openapi_extra=purpose(HR),
    tags=["documents"],
)
def create_document(body: DocumentIn, store: Store, caller: Caller) -> Document:
    document = StoredDocument(uuid.uuid4(), caller.username, body.title, body.body, list(body.tags))
    store.documents[document.id] = document
    return _document(document)


@router.get(
    "/documents/{document_id}",
    responses=answers(401, 403, 404, 422),
    openapi_extra=purpose(HR),
    tags=["documents"],
)
def read_document(document_id: DocumentId, store: Store, caller: Caller) -> Document:
    return _document(_own(store, document_id, caller))


@router.put(
    "/documents/{document_id}",
    responses=answers(401, 403, 404, 422),
    openapi_extra=purpose(HR),
    tags=["documents"],
)
def replace_document(document_id: DocumentId, body: DocumentIn, store: Store, caller: Caller) -> Document:
    document = _own(store, document_id, caller)
    document.title, document.body, document.tags = body.title, body.body, list(body.tags)
    return _document(document)


@router.delete(
    "/documents/{document_id}",
    status_code=204,
    response_class=Response,
    responses=answers(401, 403, 404, 422),
    tags=["documents"],
)
def delete_document(document_id: DocumentId, store: Store, caller: Caller) -> None:
    del store.documents[_own(store, document_id, caller).id]


def _profile(account: Account) -> Profile:
    return Profile.model_validate(
        {"username": account.username, "display_name": account.display_name, "email": account.email,
         "role": account.role, "employee_id": account.employee_id}
    )  # fmt: skip


@router.get("/users/me", responses=answers(401, 403), openapi_extra=purpose(HR), tags=["users"])
def read_profile(caller: Caller) -> Profile:
    return _profile(caller)


@router.patch("/users/me", responses=answers(401, 403, 422), openapi_extra=purpose(HR), tags=["users"])
def update_profile(body: ProfileUpdate, caller: Caller) -> Profile:
    caller.display_name = body.display_name
    return _profile(caller)
