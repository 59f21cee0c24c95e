"""The vault's services, built once from `Settings` and shared by the HTTP app and the CLI."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

from argon2 import PasswordHasher
from sqlalchemy import Connection, Engine

from dataward.audit import AuditLog
from dataward.clock import Clock, SystemClock
from dataward.consent import ConsentLedger
from dataward.guard.revocations import MemoryRevocations, RedisRevocations, Revocations
from dataward.guard.service import Guard
from dataward.identity import ClientRegistry, TokenIssuer, TokenVerifier
from dataward.identity.bearer import BearerAuthenticator
from dataward.identity.challenges import SubjectChallenges
from dataward.identity.external import ExternalTokenVerifier
from dataward.identity.notifiers import Notifier, QueuedNotifier, notifier_from_settings
from dataward.identity.oidc import OidcVerifier
from dataward.identity.refresh import RefreshTokens
from dataward.keys import Keyring, KeyringError, LocalKeyring
from dataward.keys.subject_keys import SubjectKeyStore
from dataward.policy import Policy, load_policy
from dataward.retention import SweepReport, audited_sweep, combined, sweep
from dataward.rights.outbox import Outbox
from dataward.rights.requests import RightsService
from dataward.settings import Settings
from dataward.storage import create_database_engine, write_transaction
from dataward.subjects import SubjectService
from dataward.subjects.regions import Regions, RegionStore

__all__ = ["Vault"]


@dataclass(frozen=True, slots=True)
class Vault:
    settings: Settings
    policy: Policy
    keyring: Keyring
    engine: Engine
    key_store: SubjectKeyStore
    clock: Clock
    audit: AuditLog
    subjects: SubjectService
    consent: ConsentLedger
    clients: ClientRegistry
    issuer: TokenIssuer
    verifier: TokenVerifier
    notifier: Notifier
    regions: Regions
    challenges: SubjectChallenges
    oidc: OidcVerifier | None  # None: no OpenID Connect provider is configured
    external: ExternalTokenVerifier | None  # None: the policy trusts no identity provider
    outbox: Outbox
    rights: RightsService
    revocations: Revocations  # in Redis when configured, so that every replica sees them
    guard: Guard  # rate limits, anomaly response and metrics
    bearer: BearerAuthenticator  # who a bearer token speaks for, unless revoked
    refresh_tokens: RefreshTokens

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        policy: Policy | None = None,
        keyring: Keyring | None = None,
        clock: Clock | None = None,
        password_hasher: PasswordHasher | None = None,
        notifier: Notifier | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Vault:
        """`notifier`, when given, sends one-time codes as it is (tests pass a `MemoryNotifier`);
        otherwise the one the settings name sends them from a worker thread. `environ` holds the
        other regions' database URLs (default: the process environment)."""
        policy = policy or load_policy(settings.policy_path)
        keyring = keyring or LocalKeyring.open(settings.keyring_path)
        clock = clock or SystemClock()
        engine = create_database_engine(settings.database_url)
        shared = settings.key_store_url == settings.database_url
        if shared and engine.dialect.name == "sqlite":
            raise KeyringError("on SQLite the key store needs a file of its own (DATAWARD_KEYSTORE_URL)")
        key_store = SubjectKeyStore.open(settings.key_store_url, keyring, engine=engine if shared else None)
        subject_service = SubjectService(engine, key_store, keyring, policy, clock)
        home = RegionStore(policy.default_region, engine, keyring, key_store, subject_service, default=True)
        try:
            regions = Regions.open(settings, policy, home, clock, os.environ if environ is None else environ)
        except Exception:
            engine.dispose()
            key_store.engine.dispose()
            raise
        notifier = notifier or QueuedNotifier(notifier_from_settings(settings, clock))
        outbox = Outbox(engine, policy, clock)
        audit = AuditLog(
            engine,
            keyring,
            clock=clock,
            batch_max=settings.audit_batch_max,
            checkpoint_every=settings.audit_checkpoint_every,
        )
        clients = ClientRegistry(engine, clock, password_hasher)
        verifier = TokenVerifier(keyring, settings, clock)
        external = (
            ExternalTokenVerifier(
                policy.identity_providers,
                policy,
                clock,
                own_issuer=settings.issuer,
                cache_size=settings.token_cache_size,
            )
            if policy.identity_providers
            else None
        )
        revocations: Revocations = (
            RedisRevocations(settings.redis_url, clock, prefix=settings.redis_prefix)
            if settings.redis_url
            else MemoryRevocations(clock)
        )
        return cls(
            settings=settings,
            policy=policy,
            keyring=keyring,
            engine=engine,
            key_store=key_store,
            clock=clock,
            audit=audit,
            subjects=subject_service,
            consent=ConsentLedger(policy, clock),
            clients=clients,
            issuer=TokenIssuer(keyring, settings, clock),
            verifier=verifier,
            notifier=notifier,
            regions=regions,
            challenges=SubjectChallenges(
                regions,
                keyring,
                policy,
                notifier,
                clock,
                ttl_seconds=settings.challenge_ttl_seconds,
                max_attempts=settings.challenge_max_attempts,
            ),
            oidc=OidcVerifier(settings.oidc, policy, clock) if settings.oidc else None,
            external=external,
            outbox=outbox,
            rights=RightsService(regions, outbox, policy, clock),
            revocations=revocations,
            guard=Guard.build(settings, policy, clock, engine, audit, revocations, clients.suspend),
            bearer=BearerAuthenticator(verifier, external, keyring.token_verification_keys, revocations),
            refresh_tokens=RefreshTokens(clock, settings.refresh_token_ttl_seconds),
        )

    @asynccontextmanager
    async def writing_in(self, store: RegionStore) -> AsyncIterator[Connection]:
        """A write transaction on a region's store: the vault's own database takes turns with the
        audit batches (`writing`); another region's database has no audit log to wait for."""
        if store.default:
            async with self.writing() as connection:
                yield connection
        else:
            with write_transaction(store.engine) as connection:
                yield connection

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[Connection]:
        """A write transaction for code on the event loop, taken between audit batches (see
        `AuditLog.between_batches`). Never wait for the audit log inside it."""
        async with self.audit.between_batches():
            with write_transaction(self.engine) as connection:
                yield connection

    def sweep_retention(self, actor: str, *, dry_run: bool = False) -> SweepReport:
        """A retention sweep of every region's store (see `dataward.retention`), as one report.
        Not for the event loop's thread: it waits for the audit log."""
        now = self.clock.now()
        reports, failures = [], []
        for store in self.regions.all():  # one region failing does not stop the others
            try:
                reports.append(
                    sweep(store.engine, store.key_store, self.policy, now, dry_run=True)
                    if dry_run
                    else audited_sweep(
                        store.engine, store.key_store, self.policy, self.clock, self.audit, actor
                    )
                )
            except Exception as error:  # noqa: BLE001 - reported below, after the other regions
                failures.append(error)
        if failures:
            raise failures[0]
        return combined(reports)

    async def aclose(self) -> None:
        """Close what lives on the event loop (the Redis connections), then everything else."""
        await self.revocations.close()
        if self.external is not None:
            await self.external.aclose()  # the JWKS clients
        await self.guard.close()
        self.close()

    def close(self) -> None:
        self.audit.close()
        if isinstance(self.notifier, QueuedNotifier):
            self.notifier.close()
        self.outbox.close()
        self.engine.dispose()
        self.key_store.engine.dispose()
        self.regions.close()
