"""The fideslang default taxonomy: the vocabulary for data categories and data uses."""

from __future__ import annotations

from functools import cache

from fideslang.default_taxonomy import DEFAULT_TAXONOMY

__all__ = ["data_categories", "data_uses"]


@cache
def data_categories() -> frozenset[str]:
    """Every data category key of the default taxonomy, such as `user.contact.email`."""
    return frozenset(str(item.fides_key) for item in DEFAULT_TAXONOMY.data_category)


@cache
def data_uses() -> frozenset[str]:
    """Every data use key of the default taxonomy, such as `marketing.communications.email`."""
    return frozenset(str(item.fides_key) for item in DEFAULT_TAXONOMY.data_use)
