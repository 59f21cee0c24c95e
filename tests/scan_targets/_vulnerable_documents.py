"""The vulnerable Acme HR's documents and the caller's own account."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from scan_targets._vulnerable_auth import Caller, CallerAnyToken, Store

__all__ = ["router"]

router = APIRouter()


class DocumentIn(BaseModel):  # plants: API3-MASS-ASSIGNMENT (undeclared properties slip through)
    title: str
    body: str
    tags: list[str] = Field(default_factory=list)  # plants: API4-ARRAY-NO-MAXITEMS


class Document(BaseModel):
    id: int
    owner: str
    title: str
    body: str
    tags: list[str]


class Profile(BaseModel):
    username: str
    display_name: str
    email: str
    role: str
    is_admin: bool


class ProfileUpdate(BaseModel):
    model_config = ConfigDict(extra="allow")  # plants: API3-MASS-ASSIGNMENT-ACCEPTED

    display_name: str | None = None
    role: str | None = None  # plants: API3-PRIVILEGED-PROPERTY


# plants: API4-LIST-NO-PAGINATION, API4-NO-RATE-LIMIT-OBSERVED, API8-ERROR-RESPONSES (no 401/403/5xx)
@router.get("/documents", tags=["documents"])
def list_documents(store: Store, caller: Caller) -> list[Document]:
    mine = (d for d in store.documents.values() if d["owner"] == caller["username"])
    return [Document.model_validate(d) for d in mine]


@router.post("/documents", status_code=201, tags=["documents"])
def create_document(body: DocumentIn, store: Store, caller: Caller) -> Document:
    document = {"id": next(store.document_ids), "owner": caller["username"], **body.model_dump()}
    store.documents[document["id"]] = document
    return Document.model_validate(document)


# plants: API1-SEQUENTIAL-ID, API1-BOLA (no operation below compares the owner with the caller)
@router.get("/documents/{document_id}", tags=["documents"])
def read_document(document_id: int, store: Store, caller: Caller) -> Document:
    if document_id not in store.documents:
        raise HTTPException(404, "no such document")
    return Document.model_validate(store.documents[document_id])


@router.put("/documents/{document_id}", tags=["documents"])  # plants: API1-BOLA
def replace_document(document_id: int, body: DocumentIn, store: Store, caller: Caller) -> Document:
    if document_id not in store.documents:
        raise HTTPException(404, "no such document")
    store.documents[document_id].update(body.model_dump())
    return Document.model_validate(store.documents[document_id])


@router.delete("/documents/{document_id}", status_code=204, tags=["documents"])  # plants: API1-BOLA
def delete_document(document_id: int, store: Store, caller: Caller) -> Response:
    if store.documents.pop(document_id, None) is None:
        raise HTTPException(404, "no such document")
    return Response(status_code=204)


# plants: API3-EXCESSIVE-EXPOSURE (the stored account goes out whole, past the declared model:
# password hash and national id included), API2-FORGED-TOKEN-ACCEPTED (signature not checked)
@router.get("/users/me", response_model=Profile, tags=["users"])
def read_profile(caller: CallerAnyToken) -> JSONResponse:
    return JSONResponse(caller)


@router.patch("/users/me", tags=["users"])  # plants: API3-PRIVILEGED-PROPERTY
def update_profile(body: ProfileUpdate, caller: Caller) -> Profile:
    caller.update(body.model_dump(exclude_unset=True))  # plants: API3-MASS-ASSIGNMENT-ACCEPTED
    return Profile.model_validate(caller)
