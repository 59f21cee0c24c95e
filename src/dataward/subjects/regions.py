"""Regions: each region of the policy keeps its subjects in a database and key store of its own,
under a key-encryption key of its own, and a subject is pinned to the region it was created in.

The default region's store is the vault's own database (`DATAWARD_DATABASE_URL`). Another region
names, in the policy, the environment variable that holds its database URL (`database_url_env`)
and may name one for its key store (`keystore_url_env`); its key file is `keyring-<region>.json`
beside the vault's, made by `dataward init`. What holds no personal data stays in the vault's own
database for every region: the audit log, clients, rights requests, the processor outbox, incidents,
and the directory that says which region a subject lives in (random ids and region names only).

Everything that reads or writes a subject's data asks `Regions.of(subject_id)` for its store, so
nothing of a subject is ever written to another region's store.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Engine, insert, select

from dataward.clock import Clock
from dataward.errors import DatawardError
from dataward.keys import Keyring, LocalKeyring
from dataward.keys.subject_keys import SubjectKeyStore
from dataward.policy import Policy
from dataward.settings import Settings
from dataward.storage import create_database_engine, migrate, read_connection, write_transaction
from dataward.storage.engine import create_private_sqlite_file, normalise_url
from dataward.storage.tables import subject_regions
from dataward.subjects.service import SubjectService

__all__ = ["RegionError", "RegionStore", "Regions", "region_keyring_path"]


class RegionError(DatawardError):
    """A region of the policy cannot be opened: its database URL or key file is missing."""

    slug = "region-unavailable"
    title = "A region cannot be opened"


@dataclass(frozen=True, slots=True)
class RegionStore:
    name: str
    engine: Engine
    keyring: Keyring  # the region's own key-encryption keys
    key_store: SubjectKeyStore
    subjects: SubjectService
    default: bool


def region_keyring_path(settings: Settings, region: str) -> Path:
    return settings.home / f"keyring-{region}.json"


class Regions:
    def __init__(
        self, central: Engine, stores: Mapping[str, RegionStore], *, cache_size: int = 100_000
    ) -> None:
        self._central = central
        self._stores = dict(stores)
        self._default = next(store for store in stores.values() if store.default)
        self._directory: OrderedDict[str, str] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    @classmethod
    def open(
        cls,
        settings: Settings,
        policy: Policy,
        default: RegionStore,
        clock: Clock,
        environ: Mapping[str, str],
    ) -> Regions:
        """The default region's store as given, and every other region's opened from `environ`."""
        stores = {default.name: default}
        try:
            cls._open_others(settings, policy, clock, environ, stores)
        except Exception:
            cls(default.engine, stores).close()
            raise
        return cls(default.engine, stores)

    @staticmethod
    def _open_others(
        settings: Settings,
        policy: Policy,
        clock: Clock,
        environ: Mapping[str, str],
        stores: dict[str, RegionStore],
    ) -> None:
        for name, region in policy.regions.items():
            if region.default:
                continue
            url = environ.get(region.database_url_env or "")
            if not url:
                raise RegionError(f"region {name} needs its database URL in ${region.database_url_env}")
            taken = {
                normalise_url(s.engine.url.render_as_string(hide_password=False)) for s in stores.values()
            }
            if normalise_url(url) in taken:
                raise RegionError(f"region {name}'s database is another region's: residency needs its own")
            if region.keystore_url_env and not environ.get(region.keystore_url_env):
                raise RegionError(f"region {name} needs its key store URL in ${region.keystore_url_env}")
            keyring_path = region_keyring_path(settings, name)
            if not keyring_path.exists():
                raise RegionError(f"region {name} has no key file at {keyring_path}; run `dataward init`")
            keyring: Keyring = LocalKeyring.open(keyring_path)
            engine = create_database_engine(url)
            key_url = environ.get(region.keystore_url_env or "") or _beside(url, settings, name)
            key_store = SubjectKeyStore.open(key_url, keyring, engine=engine if key_url == url else None)
            subjects = SubjectService(engine, key_store, keyring, policy, clock)
            stores[name] = RegionStore(name, engine, keyring, key_store, subjects, default=False)

    # -- finding a subject's store ---------------------------------------------------------------

    @property
    def default(self) -> RegionStore:
        return self._default

    def store(self, region: str) -> RegionStore:
        return self._stores[region]

    def all(self) -> list[RegionStore]:
        return list(self._stores.values())

    def of(self, subject_id: str) -> RegionStore:
        """The store of the region `subject_id` is pinned to (the default one when it is unknown:
        it then finds no such subject there)."""
        if len(self._stores) == 1:
            return self._default
        with self._lock:
            region = self._directory.get(subject_id)
        if region is None:
            with self._central.connect() as connection:
                found = connection.execute(
                    select(subject_regions.c.region).where(subject_regions.c.subject_id == subject_id)
                ).scalar()
            if found is not None and found not in self._stores:
                raise RegionError(f"a subject lives in region {found}, which the policy no longer has")
            region = found or self._default.name
            with self._lock:  # a subject never moves: what is cached stays true
                self._directory[subject_id] = region
                while len(self._directory) > self._cache_size:
                    self._directory.popitem(last=False)
        return self._stores[region]

    def pin(self, central: Connection, subject_id: str, store: RegionStore) -> None:
        """Record a new subject's region in the directory (only other regions than the default)."""
        if not store.default:
            central.execute(insert(subject_regions).values(subject_id=subject_id, region=store.name))

    # -- connections -----------------------------------------------------------------------------

    @contextmanager
    def writing(self, store: RegionStore, central: Connection) -> Iterator[Connection]:
        """A write transaction on `store`: the caller's own when the store is the vault's database
        (one transaction, one lock), else one of the region's, committed when the block ends."""
        if store.engine is self._central:
            yield central
            return
        with write_transaction(store.engine) as connection:
            yield connection

    @contextmanager
    def reading(self, store: RegionStore, central: Connection) -> Iterator[Connection]:
        """A connection to read `store`: the caller's own when the store is the vault's database."""
        if store.engine is self._central:
            yield central
            return
        with read_connection(store.engine) as connection:
            yield connection

    def migrate(self) -> None:
        """Bring every other region's database up to date (the default one is the vault's)."""
        for store in self._stores.values():
            if not store.default:
                migrate(store.engine)

    def close(self) -> None:
        for store in self._stores.values():
            if not store.default:
                store.engine.dispose()
                if store.key_store.engine is not store.engine:
                    store.key_store.engine.dispose()


def _beside(url: str, settings: Settings, region: str) -> str:
    """A region's key store when none is named: a file of its own beside an SQLite database (in
    the installation's folder), else the region's database itself."""
    if url.startswith("sqlite"):
        path = settings.home / f"keystore-{region}.db"
        create_private_sqlite_file(f"sqlite:///{path}")
        return f"sqlite:///{path}"
    return url
