"""The keyring: key-encryption keys (KEKs) that wrap subjects' data keys, plus the blind-index key
and the Ed25519 signing keys for tokens and audit checkpoints.

`Keyring` is the interface a KMS backend implements. `LocalKeyring` keeps its material in a JSON key
file created with 0600 permissions (or only in memory, for tests). Rotation adds a new KEK and makes
it active; older KEKs keep unwrapping until they are retired.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import stat
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from dataward.keys.errors import IntegrityError, KeyringError

__all__ = ["KeyEncryptionKey", "Keyring", "LocalKeyring", "SigningKey", "WrappedKey"]

_FORMAT = 1


@dataclass(frozen=True, slots=True)
class WrappedKey:
    kek_id: str
    blob: bytes


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    private: Ed25519PrivateKey

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()


@dataclass(slots=True)
class KeyEncryptionKey:
    kid: str
    key: bytes
    created: str
    retired: str | None = None
    _aead: AESGCM | None = field(default=None, repr=False, compare=False)

    @property
    def aead(self) -> AESGCM:
        if self._aead is None:
            self._aead = AESGCM(self.key)
        return self._aead


class Keyring(Protocol):
    @property
    def active_kek_id(self) -> str: ...

    def kek_ids(self) -> list[str]:
        """Every KEK that can still unwrap, active one last."""
        ...

    def wrap(self, data_key: bytes, context: bytes) -> WrappedKey: ...

    def unwrap(self, wrapped: WrappedKey, context: bytes) -> bytes: ...

    def rotate(self) -> str:
        """Add a new KEK, make it the active one, and return its id."""
        ...

    def retire(self, kek_id: str) -> None:
        """Stop a non-active KEK from unwrapping; call only when no data key uses it."""
        ...

    def blind_index_key(self) -> bytes: ...

    def token_signing_key(self) -> SigningKey: ...

    def token_verification_keys(self) -> dict[str, Ed25519PublicKey]: ...

    def audit_signing_key(self) -> SigningKey: ...

    def audit_verification_keys(self) -> dict[str, Ed25519PublicKey]: ...


@dataclass(slots=True)
class _Material:
    keks: list[KeyEncryptionKey]
    active_kek: str
    blind_index_key: bytes
    token_keys: list[SigningKey]
    audit_keys: list[SigningKey]
    extra: dict[str, Any] = field(default_factory=dict)


class LocalKeyring:
    """A keyring whose material lives in a local file (or only in memory when `path` is None)."""

    def __init__(self, material: _Material, path: Path | None = None) -> None:
        self._m = material
        self._path = path
        self._stamp = _file_stamp(path)

    # -- construction --------------------------------------------------------------------------

    @classmethod
    def generate(cls, path: Path | None = None) -> LocalKeyring:
        """Fresh key material; written to `path` (0600, never overwriting) when one is given."""
        material = _Material(
            keks=[_new_kek(1)],
            active_kek="kek-1",
            blind_index_key=secrets.token_bytes(32),
            token_keys=[_new_signing_key("tok")],
            audit_keys=[_new_signing_key("aud")],
        )
        ring = cls(material, path)
        if path is not None:
            _write_new(path, _dump(material))
        return ring

    @classmethod
    def open(cls, path: Path) -> LocalKeyring:
        return cls(_read(path), path)

    # -- key-encryption keys -------------------------------------------------------------------

    @property
    def active_kek_id(self) -> str:
        return self._m.active_kek

    def kek_ids(self) -> list[str]:
        live = [k.kid for k in self._m.keks if k.retired is None and k.kid != self._m.active_kek]
        return [*live, self._m.active_kek]

    def wrap(self, data_key: bytes, context: bytes) -> WrappedKey:
        # Another process (`dataward keys rotate`) may have changed the active key since we loaded.
        if self._path is not None and _file_stamp(self._path) != self._stamp:
            self._reload()
        kek = self._kek(self._m.active_kek)
        nonce = os.urandom(12)
        blob = nonce + kek.aead.encrypt(nonce, data_key, _wrap_aad(kek.kid, context))
        return WrappedKey(kek.kid, blob)

    def unwrap(self, wrapped: WrappedKey, context: bytes) -> bytes:
        kek = self._kek(wrapped.kek_id)
        if kek.retired is not None:
            raise KeyringError(f"key-encryption key {kek.kid} is retired")
        try:
            return AESGCM(kek.key).decrypt(wrapped.blob[:12], wrapped.blob[12:], _wrap_aad(kek.kid, context))
        except (InvalidTag, ValueError):
            raise IntegrityError("wrapped data key failed authentication") from None

    def rotate(self) -> str:
        self._reload()
        kek = _new_kek(len(self._m.keks) + 1)
        self._m.keks.append(kek)
        self._m.active_kek = kek.kid
        self._save()
        return kek.kid

    def retire(self, kek_id: str) -> None:
        self._reload()
        if kek_id == self._m.active_kek:
            raise KeyringError(f"{kek_id} is the active key-encryption key; rotate first")
        self._kek(kek_id).retired = _now()
        self._save()

    def _kek(self, kid: str) -> KeyEncryptionKey:
        for kek in self._m.keks:
            if kek.kid == kid:
                return kek
        # Another process (`dataward keys rotate`) may have added it since we loaded the file.
        if self._reload():
            for kek in self._m.keks:
                if kek.kid == kid:
                    return kek
        raise KeyringError(f"unknown key-encryption key {kid}")

    # -- other keys ----------------------------------------------------------------------------

    def blind_index_key(self) -> bytes:
        return self._m.blind_index_key

    def token_signing_key(self) -> SigningKey:
        return self._m.token_keys[-1]

    def token_verification_keys(self) -> dict[str, Ed25519PublicKey]:
        return {k.kid: k.public for k in self._m.token_keys}

    def audit_signing_key(self) -> SigningKey:
        return self._m.audit_keys[-1]

    def audit_verification_keys(self) -> dict[str, Ed25519PublicKey]:
        return {k.kid: k.public for k in self._m.audit_keys}

    # -- persistence ---------------------------------------------------------------------------

    def _reload(self) -> bool:
        if self._path is None:
            return False
        self._stamp = _file_stamp(self._path)
        self._m = _read(self._path)
        return True

    def _save(self) -> None:
        if self._path is not None:
            _replace(self._path, _dump(self._m))
            self._stamp = _file_stamp(self._path)


def _file_stamp(path: Path | None) -> tuple[int, int] | None:
    if path is None:
        return None
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_ino)


def _wrap_aad(kek_id: str, context: bytes) -> bytes:
    return b"dataward:dek:v1\x00" + kek_id.encode() + b"\x00" + context


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _new_kek(n: int) -> KeyEncryptionKey:
    return KeyEncryptionKey(kid=f"kek-{n}", key=AESGCM.generate_key(bit_length=256), created=_now())


def _new_signing_key(prefix: str) -> SigningKey:
    return SigningKey(kid=f"{prefix}-{secrets.token_hex(4)}", private=Ed25519PrivateKey.generate())


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def _raw_private(key: SigningKey) -> dict[str, str]:
    raw = key.private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return {"kid": key.kid, "ed25519": _b64(raw)}


def _dump(m: _Material) -> bytes:
    doc = {
        "format": _FORMAT,
        "active_kek": m.active_kek,
        "keks": [
            {"kid": k.kid, "aes256": _b64(k.key), "created": k.created, "retired": k.retired} for k in m.keks
        ],
        "blind_index_key": _b64(m.blind_index_key),
        "token_keys": [_raw_private(k) for k in m.token_keys],
        "audit_keys": [_raw_private(k) for k in m.audit_keys],
    }
    return json.dumps(doc, indent=2).encode()


def _read(path: Path) -> _Material:
    try:
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise KeyringError(
                f"{path} is readable by others (mode {stat.S_IMODE(mode):o}); run: chmod 600 {path}"
            )
        text = path.read_bytes()
    except FileNotFoundError:
        raise KeyringError(f"no key file at {path}; run `dataward init` first") from None
    except OSError as exc:
        raise KeyringError(f"cannot read the key file {path}: {exc.strerror}") from None
    try:
        doc = json.loads(text)
        return _Material(
            keks=[
                KeyEncryptionKey(k["kid"], _unb64(k["aes256"]), k["created"], k.get("retired"))
                for k in doc["keks"]
            ],
            active_kek=doc["active_kek"],
            blind_index_key=_unb64(doc["blind_index_key"]),
            token_keys=[_signing_key(k) for k in doc["token_keys"]],
            audit_keys=[_signing_key(k) for k in doc["audit_keys"]],
        )
    except (KeyError, TypeError, ValueError):
        raise KeyringError(f"the key file {path} is damaged or of an unknown format") from None


def _signing_key(entry: dict[str, str]) -> SigningKey:
    return SigningKey(entry["kid"], Ed25519PrivateKey.from_private_bytes(_unb64(entry["ed25519"])))


def _write_new(path: Path, data: bytes) -> None:
    """Create `path` with mode 0600; refuse to overwrite an existing key file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _replace(path: Path, data: bytes) -> None:
    """Atomically replace the key file, keeping mode 0600 throughout."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    _write_new(tmp, data)
    tmp.replace(path)
