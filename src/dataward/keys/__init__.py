"""Keys: the keyring (key-encryption keys, index and signing keys), envelope encryption, blind indexes."""

from dataward.keys.blind_index import BlindIndex
from dataward.keys.envelope import DataKey, field_aad, generate_data_key, open_, seal
from dataward.keys.errors import IntegrityError, KeyringError
from dataward.keys.keyring import Keyring, LocalKeyring, SigningKey, WrappedKey

__all__ = [
    "BlindIndex",
    "DataKey",
    "IntegrityError",
    "Keyring",
    "KeyringError",
    "LocalKeyring",
    "SigningKey",
    "WrappedKey",
    "field_aad",
    "generate_data_key",
    "open_",
    "seal",
]
