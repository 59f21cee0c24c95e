"""Process tuning for serving: start-up objects leave the garbage collector's sight."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from dataward.api.server import freeze_startup_objects


@pytest.fixture
def restored_gc() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("restored_gc")
def test_start_up_objects_are_frozen_and_collections_come_less_often() -> None:
    loaded_at_start_up = {"policy": ["a", "large", "structure"]}
    before = gc.get_threshold()

    freeze_startup_objects()

    assert gc.get_freeze_count() > 0
    assert gc.is_tracked(loaded_at_start_up)
    # Frozen objects sit in no generation the collector walks (nor one `get_objects` lists).
    assert not any(o is loaded_at_start_up for o in gc.get_objects())
    assert gc.get_threshold()[0] >= max(10_000, before[0])
    assert gc.get_threshold()[1:] == before[1:]
