"""Live probes of who may reach what: answers that say too much, admin functions open to anyone,
objects one identity reaches of another's, and privileges a write body grants itself.

Each probe is bounded: at most `_MAX_OPERATIONS` operations, a handful of requests each.

- `excessive_exposure` (API3-EXCESSIVE-EXPOSURE): GETs each read once with the first identity,
  collections first, then object operations with an id their collection answered (else sample
  values). It walks the JSON answer (`_MAX_ITEMS` list items, `_MAX_DEPTH` levels) for properties
  that no 2xx response schema of the operation declares and that hold secrets (by name, or by
  value: bcrypt, argon2 and scrypt hashes, PEM private keys, a JWT not the caller's own) or personal
  data (by name, or by value: US social security numbers, e-mail addresses, IBANs). One finding per
  operation, with the names and kinds of the properties; declared personal data is the spec
  scanner's business.
- `admin_reachable` (API5-ADMIN-REACHABLE): admin-looking GETs, then (only with
  `allow_destructive`) admin POST, PUT and PATCH, called with each identity, all taken for ordinary
  ones; any 2xx is a finding. Never DELETE: an admin write already proves the point.
- `broken_object_level` (API1-BOLA): needs two identities, A and B. For each collection (a GET
  without path parameters with object operations one `{id}` below it) both list it; ids A sees and
  B does not are A's. With `allow_destructive` A also creates an object (a POST on the collection),
  so that writes land on the scanner's object rather than on real data. B then GETs A's objects
  (up to `_MAX_IDS`, and integer neighbours ±1, ±2 that A's list showed); with `allow_destructive`
  B also PUTs, PATCHes and, last, DELETEs one; each 2xx is a finding at that operation. A deletes
  its created object afterwards if B could not.
- `mass_assignment` (API3-MASS-ASSIGNMENT-ACCEPTED): only with `allow_destructive`, and last,
  since it may raise the first identity's privileges. Writes to the caller's own resources
  (`/users/me`, `/profile`, ...) and to an object it creates send a valid sample body plus
  privileged properties (`_PRIVILEGED`); one echoed with the injected value, or shown by a GET of
  the same resource afterwards (and not before), is a finding.

Findings name properties and kinds, never values or tokens.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from dataward.scanner.document import Operation
from dataward.scanner.fields import FieldKind, classify_field
from dataward.scanner.findings import Finding
from dataward.scanner.live.context import Identity, LiveContext, Probe, sample_value
from dataward.scanner.schemas import LIST_KEYS, properties
from dataward.scanner.words import is_own_path, path_segments

__all__ = ["PROBES", "admin_reachable", "broken_object_level", "excessive_exposure", "mass_assignment"]

_MAX_OPERATIONS = 20  # per probe
_MAX_IDENTITIES = 5  # admin_reachable: requests per operation
_MAX_IDS = 3  # broken_object_level: A's listed objects B tries to read, per object operation
_MAX_ITEMS = 50  # list items walked or read ids from, per answer
_MAX_DEPTH = 8
_PRIVILEGED: dict[str, Any] = {
    "is_admin": True, "role": "admin", "admin": True, "verified": True, "permissions": ["admin"],
}  # fmt: skip
_WRITES = frozenset({"POST", "PUT", "PATCH"})  # never DELETE, but in BOLA on the scan's own object
_ID_SEGMENT = re.compile(r"\{[^{}/]+\}")
_SECRET_VALUE = re.compile(
    r"^\$2[abxy]?\$\d\d\$|^\$argon2(?:id|i|d)\$|^\$(?:scrypt|7)\$|-----BEGIN [A-Z ]*PRIVATE KEY-----"
)
_JWT = re.compile(r"^eyJ[\w-]+\.eyJ[\w-]+\.[\w-]*$")
_SSN = re.compile(r"^\d{3}-\d{2}-\d{4}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_IBAN = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$")


# -- excessive exposure -----------------------------------------------------------------------


def excessive_exposure(ctx: LiveContext) -> Iterator[Finding]:
    if not ctx.identities:
        ctx.notes.append("excessive_exposure needs an identity; skipped")
        return
    caller = ctx.identities[0]
    reads = sorted(ctx.reads(), key=lambda o: bool(o.path_parameters))  # collections first, for ids
    listed: dict[str, Any] = {}
    for operation in reads[:_MAX_OPERATIONS]:
        values = _known_id(operation, listed)
        answer = ctx.call(operation, caller, path_values=values)
        body = answer.json() if answer.ok else None
        if not operation.path_parameters:
            listed[operation.path] = body
        kinds = _exposed(body, _declared_names(ctx, operation), caller.token)
        if kinds:
            names = sorted(kinds)
            yield ctx.finding(
                "API3-EXCESSIVE-EXPOSURE",
                f"{operation.label} answers with properties its response schema does not declare, "
                f"holding secrets or personal data: {', '.join(f'{n} ({kinds[n]})' for n in names)}",
                operation,
                evidence={"fields": names, "kinds": kinds, "identity": caller.name},
            )


def _declared_names(ctx: LiveContext, operation: Operation) -> set[str]:
    return {
        prop.name
        for response in operation.responses
        if response.status.startswith("2")
        for media in response.media
        for prop in properties(ctx.document, media.schema, media.pointer)
    }


def _exposed(value: Any, declared: set[str], own_token: str, depth: int = 0) -> dict[str, str]:
    """Undeclared properties anywhere in `value` holding secrets or personal data: name -> kind."""
    found: dict[str, str] = {}
    if depth > _MAX_DEPTH:
        return found
    if isinstance(value, list):
        for item in value[:_MAX_ITEMS]:
            found.update(_exposed(item, declared, own_token, depth + 1))
    elif isinstance(value, dict):
        for key, child in value.items():
            name = str(key)
            if name not in declared:
                match = classify_field(name)
                kind = match.kind if match else _value_kind(child, own_token)
                if kind is not None:  # a map's key may itself be a value: never report one whole
                    found[_masked(name) if _value_kind(name, "") else name] = kind.value
            found.update(_exposed(child, declared, own_token, depth + 1))
    return found


def _value_kind(value: Any, own_token: str) -> FieldKind | None:
    if not isinstance(value, str):
        return None
    if _SECRET_VALUE.search(value) or (_JWT.match(value) and value != own_token):
        return FieldKind.SECRET
    if _SSN.match(value):
        return FieldKind.NATIONAL_ID
    if _EMAIL.match(value):
        return FieldKind.CONTACT
    return FieldKind.FINANCIAL if _is_iban(value) else None


def _is_iban(text: str) -> bool:
    compact = text.replace(" ", "")
    if not _IBAN.match(compact):
        return False
    digits = "".join(str(int(c, 36)) for c in compact[4:] + compact[:4])  # ISO 13616: mod 97 is 1
    return int(digits) % 97 == 1


def _masked(text: str) -> str:
    return text[0] + "*" * (len(text) - 2) + text[-1] if len(text) > 2 else "*" * len(text)


# -- admin functions --------------------------------------------------------------------------


def admin_reachable(ctx: LiveContext) -> Iterator[Finding]:
    writes = _WRITES if ctx.allow_destructive else frozenset()
    admin = [o for o in ctx.operations if ctx.is_admin(o) and (o.method == "GET" or o.method in writes)]
    admin.sort(key=lambda o: o.method != "GET")  # reads first: they show the flaw without changing state
    identities = ctx.identities[:_MAX_IDENTITIES]
    for operation in admin[:_MAX_OPERATIONS]:
        reached = {i.name: answer.status for i in identities if (answer := ctx.call(operation, i)).ok}
        if reached:
            yield ctx.finding(
                "API5-ADMIN-REACHABLE",
                f"{operation.label} answers {', '.join(reached)} (ordinary identities) with a 2xx",
                operation,
                evidence={"identities": sorted(reached), "statuses": reached},
            )


# -- object level -----------------------------------------------------------------------------


def broken_object_level(ctx: LiveContext) -> Iterator[Finding]:
    if len(ctx.identities) < 2:
        ctx.notes.append("broken_object_level needs two identities (A's objects, B's token); skipped")
        return
    owner, other = ctx.identities[:2]
    for collection, objects in _collections(ctx)[:_MAX_OPERATIONS]:
        id_name = objects[0].path_parameters[0].name
        listings = [ctx.call(collection, identity) for identity in (owner, other)]
        if any(a.status in {0, 429} for a in listings):  # a list B did not get says nothing of B's
            ctx.notes.append(f"broken_object_level: {collection.label} did not answer both; skipped")
            continue
        mine, theirs = (_ids(a.json() if a.ok else None, collection.path, id_name) for a in listings)
        foreign = [i for i in mine if i not in theirs]
        created = _create(ctx, collection, owner, id_name)
        targets = [*foreign[:_MAX_IDS], *([] if created is None else [created])]
        if not targets:
            ctx.notes.append(
                f"broken_object_level: {owner.name} has no object of its own in {collection.path}"
            )
            continue
        # more of A's listed objects, near the first: sequential ids are where BOLA is cheapest
        nearby = [n for n in _neighbours(targets[0]) if n in foreign and n not in targets]
        for operation in (o for o in objects if o.method == "GET"):
            read = [t for t in [*targets, *nearby] if _reaches(ctx, operation, other, t)]
            if read:
                yield _bola(ctx, operation, owner, other, f"reads {len(read)} of {owner.name}'s objects")
        if not ctx.allow_destructive:
            continue
        victim, gone = targets[-1], False  # the created object when there is one, not real data
        for operation in sorted(objects, key=lambda o: o.method == "DELETE"):  # DELETE last
            if operation.method in {"PUT", "PATCH", "DELETE"} and _reaches(ctx, operation, other, victim):
                gone = operation.method == "DELETE"
                yield _bola(ctx, operation, owner, other, f"{operation.method}s an object of {owner.name}")
        if created is not None and not gone:
            _delete(ctx, objects, owner, created)


def _bola(ctx: LiveContext, operation: Operation, owner: Identity, other: Identity, what: str) -> Finding:
    return ctx.finding(
        "API1-BOLA",
        f"{other.name} {what} through {operation.label}",
        operation,
        evidence={"identity": other.name, "owner": owner.name},
    )


def _collections(ctx: LiveContext) -> list[tuple[Operation, list[Operation]]]:
    """Each GET without path parameters, with the operations on one of its objects (its path plus
    one `{id}`) that may be called."""
    out = []
    for collection in ctx.reads():
        if collection.path_parameters:
            continue
        prefix = collection.path.rstrip("/") + "/"
        objects = [
            o
            for o in ctx.operations
            if o.path.startswith(prefix)
            and _ID_SEGMENT.fullmatch(o.path[len(prefix) :])
            and len(o.path_parameters) == 1
            and ctx.may_call(o)
        ]
        if objects:
            out.append((collection, objects))
    return out


def _reaches(ctx: LiveContext, operation: Operation, identity: Identity, object_id: Any) -> bool:
    return ctx.call(operation, identity, path_values={operation.path_parameters[0].name: object_id}).ok


def _neighbours(object_id: Any) -> list[int]:
    if not isinstance(object_id, int) or isinstance(object_id, bool):
        return []
    return [object_id + step for step in (-2, -1, 1, 2)]


def _create(ctx: LiveContext, collection: Operation, owner: Identity, id_name: str) -> Any:
    """The id of an object `owner` creates in `collection` (only with `allow_destructive`), or None."""
    post = next((o for o in ctx.operations if o.method == "POST" and o.path == collection.path), None)
    if post is None or not ctx.allow_destructive:
        return None
    answer = ctx.call(post, owner)
    return _id_of(answer.json(), collection.path, id_name) if answer.ok else None


def _delete(ctx: LiveContext, objects: list[Operation], owner: Identity, object_id: Any) -> None:
    """Remove an object the scan created, when the API has a way to."""
    delete = next((o for o in objects if o.method == "DELETE"), None)
    if delete is not None:
        _reaches(ctx, delete, owner, object_id)


def _ids(body: Any, collection_path: str, id_name: str) -> list[Any]:
    """The object ids a list answer shows (the array, or the array under `items`, `data`, ...)."""
    if isinstance(body, dict):
        body = next((v for k, v in body.items() if k.lower() in LIST_KEYS and isinstance(v, list)), None)
    items = body[:_MAX_ITEMS] if isinstance(body, list) else []
    return list(
        dict.fromkeys(i for i in (_id_of(x, collection_path, id_name) for x in items) if i is not None)
    )


def _id_of(item: Any, collection_path: str, id_name: str) -> Any:
    """`id`, the path parameter's name, or `<resource>_id` (`document_id` in `/documents`)."""
    segments = path_segments(collection_path)
    resource = segments[-1].removesuffix("s") if segments else ""
    for name in ("id", id_name, f"{resource}_id"):
        value = item.get(name) if isinstance(item, dict) else None
        if isinstance(value, (int, str)) and not isinstance(value, bool):
            return value
    return None


def _known_id(operation: Operation, listed: dict[str, Any]) -> dict[str, Any] | None:
    """A value for `operation`'s one path parameter from its collection's answer, if it gave one."""
    parent, _, last = operation.path.rstrip("/").rpartition("/")
    if len(operation.path_parameters) != 1 or not _ID_SEGMENT.fullmatch(last):
        return None
    name = operation.path_parameters[0].name
    ids = _ids(listed.get(parent), parent, name)
    return {name: ids[0]} if ids else None


# -- mass assignment --------------------------------------------------------------------------


def mass_assignment(ctx: LiveContext) -> Iterator[Finding]:
    if not ctx.allow_destructive or not ctx.identities:
        ctx.notes.append("mass_assignment writes, so it runs only with allow_destructive and an identity")
        return
    caller = ctx.identities[0]
    own = [o for o in ctx.operations if o.method in _WRITES and not o.path_parameters and is_own_path(o.path)]
    for operation in own[:_MAX_OPERATIONS]:
        yield from _inject(ctx, operation, caller, None)
    for collection, objects in _collections(ctx)[:_MAX_OPERATIONS]:
        writes = [o for o in objects if o.method in _WRITES]
        created = _create(ctx, collection, caller, objects[0].path_parameters[0].name) if writes else None
        if created is not None:
            for operation in writes:
                yield from _inject(ctx, operation, caller, {operation.path_parameters[0].name: created})
            _delete(ctx, objects, caller, created)


def _inject(
    ctx: LiveContext, operation: Operation, caller: Identity, values: dict[str, Any] | None
) -> Iterator[Finding]:
    """Write a sample body plus `_PRIVILEGED`; report what the answer or a GET afterwards keeps."""
    reader = next((o for o in ctx.reads() if o.path == operation.path), None)
    before = _privileged(ctx.call(reader, caller, path_values=values).json()) if reader else set()
    body = sample_value(operation.bodies[0].schema, ctx.document) if operation.bodies else {}
    if not isinstance(body, dict):
        return
    answer = ctx.call(operation, caller, path_values=values, body={**body, **_PRIVILEGED})
    if not answer.ok:
        return
    kept = _privileged(answer.json())
    if reader is not None:
        kept |= _privileged(ctx.call(reader, caller, path_values=values).json())
    names = sorted(kept - before)
    if names:
        yield ctx.finding(
            "API3-MASS-ASSIGNMENT-ACCEPTED",
            f"{operation.label} took privileged properties from {caller.name}'s body: {', '.join(names)}",
            operation,
            evidence={"fields": names, "identity": caller.name},
        )


def _privileged(body: Any) -> set[str]:
    """The privileged properties `body` holds with the very value the probe injects."""
    if not isinstance(body, dict):
        return set()
    return {k for k, v in _PRIVILEGED.items() if type(body.get(k)) is type(v) and body.get(k) == v}


PROBES: tuple[Probe, ...] = (excessive_exposure, admin_reachable, broken_object_level, mass_assignment)
