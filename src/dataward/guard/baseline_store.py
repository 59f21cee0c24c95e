"""Where baselines live: the `client_baselines` table, one JSON row per client, shared by replicas.

Folding takes the client's row lock (`SELECT ... FOR UPDATE` on PostgreSQL; SQLite's write
transaction holds the whole database) and folds only the hours after the row's `folded_through`,
so an hour that several replicas close at once is learnt exactly once. A replica that comes second
finds the work done and adopts the stored baseline.

Not for the event loop's thread: these are blocking database calls (`AnomalyDetector` runs them in
a worker thread).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import structlog
from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import IntegrityError as DatabaseIntegrityError

from dataward.clock import Clock
from dataward.guard.baseline import Baseline, HourCount
from dataward.policy.edge import AnomalyRules
from dataward.storage.engine import read_connection, write_transaction
from dataward.storage.tables import client_baselines

__all__ = ["BaselineStore"]

log = structlog.get_logger(__name__)

_ID_LENGTH = 64  # the column's width; longer ids (an external provider's) are stored by digest
_DIGESTED = "sha256:"


def _row_id(client_id: str) -> str:
    if len(client_id) <= _ID_LENGTH:
        return client_id
    return _DIGESTED + hashlib.sha256(client_id.encode()).hexdigest()[: _ID_LENGTH - 7]


class BaselineStore:
    def __init__(self, engine: Engine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock

    def load(self, client_id: str) -> Baseline | None:
        with read_connection(self._engine) as connection:
            state = connection.execute(
                select(client_baselines.c.state).where(client_baselines.c.client_id == _row_id(client_id))
            ).scalar_one_or_none()
        return None if state is None else _parse(state)

    def client_ids(self) -> list[str]:
        """Every client with a stored baseline, except those stored by digest (their live counts
        are found by their id, which only the replicas that see them know)."""
        with read_connection(self._engine) as connection:
            ids = connection.execute(select(client_baselines.c.client_id)).scalars()
            return [i for i in ids if not i.startswith(_DIGESTED)]

    def fold(
        self,
        fresh: Mapping[str, Baseline],
        through: int,
        counts: Mapping[tuple[str, int], HourCount],
        rules: AnomalyRules,
    ) -> dict[str, Baseline]:
        """Each client's stored baseline (`fresh[client]` where none is stored yet) with every hour
        up to `through` folded in, using `counts` (absent: no reads). One transaction for all."""
        try:
            return self._fold(fresh, through, counts, rules)
        except DatabaseIntegrityError:
            # Two replicas stored a new client's first baseline at once (PostgreSQL): the row now
            # exists, and the second attempt folds under its lock.
            return self._fold(fresh, through, counts, rules)

    def _fold(
        self,
        fresh: Mapping[str, Baseline],
        through: int,
        counts: Mapping[tuple[str, int], HourCount],
        rules: AnomalyRules,
    ) -> dict[str, Baseline]:
        folded: dict[str, Baseline] = {}
        with write_transaction(self._engine) as connection:
            for client_id in sorted(fresh):  # one order for every replica: no deadlock
                exists, stored = self._locked(connection, client_id)
                baseline = stored if stored is not None else fresh[client_id]
                behind = baseline.folded_through < through
                if behind:
                    mine = {hour: count for (c, hour), count in counts.items() if c == client_id}
                    baseline = baseline.fold_through(through, mine, rules)
                if behind or stored is None:  # a new client's first row, or one that was unreadable
                    self._write(connection, client_id, baseline, exists=exists)
                folded[client_id] = baseline
        return folded

    def _locked(self, connection: Connection, client_id: str) -> tuple[bool, Baseline | None]:
        """Whether the client has a row, and its baseline if it can be read; the row stays locked."""
        state = connection.execute(
            select(client_baselines.c.state)
            .where(client_baselines.c.client_id == _row_id(client_id))
            .with_for_update()
        ).scalar_one_or_none()
        return (False, None) if state is None else (True, _parse(state))

    def _write(self, connection: Connection, client_id: str, baseline: Baseline, *, exists: bool) -> None:
        values = {"state": baseline.to_json(), "updated_at": self._clock.now()}
        if exists:
            connection.execute(
                update(client_baselines)
                .where(client_baselines.c.client_id == _row_id(client_id))
                .values(values)
            )
        else:
            connection.execute(insert(client_baselines).values(client_id=_row_id(client_id), **values))


def _parse(state: str) -> Baseline | None:
    """A stored baseline, or None when it cannot be read (it is then learnt afresh, not fatal)."""
    try:
        return Baseline.from_json(state)
    except (ValueError, KeyError, TypeError):
        log.warning("anomaly.baseline_unreadable")
        return None
