"""Field values: type checks, stored forms, index normalisation, and errors that carry no value."""

from __future__ import annotations

from typing import Any

import pytest

from dataward.errors import Problem
from dataward.policy import FieldSpec, FieldType
from dataward.subjects.values import MAX_STRING, check_value, normalise_for_index


def spec(kind: FieldType) -> FieldSpec:
    return FieldSpec(type=kind, category="user.name")


@pytest.mark.parametrize(
    ("kind", "raw", "stored"),
    [
        (FieldType.STRING, "  Ada Lovelace ", "Ada Lovelace"),
        (FieldType.EMAIL, " Ada@Example.com", "Ada@Example.com"),
        (FieldType.PHONE, "+44 20 7946 0958", "+442079460958"),
        (FieldType.DATE, "1815-12-10", "1815-12-10"),
        (FieldType.INTEGER, 42, 42),
        (FieldType.BOOLEAN, False, False),
        (FieldType.COUNTRY, "gb", "GB"),
    ],
)
def test_valid_values_take_their_stored_form(kind: FieldType, raw: Any, stored: Any) -> None:
    assert check_value(spec(kind), raw, "f") == stored


@pytest.mark.parametrize(
    ("kind", "raw"),
    [
        (FieldType.STRING, ""),
        (FieldType.STRING, "x" * (MAX_STRING + 1)),
        (FieldType.STRING, "bell\x07"),
        (FieldType.STRING, 5),
        (FieldType.EMAIL, "not-an-address"),
        (FieldType.EMAIL, "a@b"),
        (FieldType.PHONE, "+49 bogus 123"),
        (FieldType.PHONE, "030 1234567"),  # no country code
        (FieldType.DATE, "10.12.1815"),
        (FieldType.DATE, "1815-02-30"),
        (FieldType.INTEGER, True),
        (FieldType.INTEGER, 2**60),
        (FieldType.INTEGER, "42"),
        (FieldType.BOOLEAN, "true"),
        (FieldType.COUNTRY, "XX"),
        (FieldType.COUNTRY, "Germany"),
    ],
)
def test_invalid_values_are_problems_that_do_not_echo_the_value(kind: FieldType, raw: Any) -> None:
    problem = check_value(spec(kind), raw, "profile.x")
    assert isinstance(problem, Problem)
    assert problem.path == "profile.x"
    if isinstance(raw, str) and len(raw) > 5:
        assert raw not in problem.message


def test_index_normalisation_makes_equal_values_equal() -> None:
    email = spec(FieldType.EMAIL)
    assert normalise_for_index(email, "Ada@Example.COM") == normalise_for_index(email, "ada@example.com")
    text = spec(FieldType.STRING)
    fullwidth_a = "\uff21"  # NFKC folds it to A
    assert normalise_for_index(text, f"{fullwidth_a}da   LOVELACE") == normalise_for_index(
        text, "ada lovelace"
    )
    phone = spec(FieldType.PHONE)
    a = check_value(phone, "+44 20 7946 0958", "p")
    b = check_value(phone, "+442079460958", "p")
    assert isinstance(a, str) and isinstance(b, str)
    assert normalise_for_index(phone, a) == normalise_for_index(phone, b)
    assert normalise_for_index(spec(FieldType.BOOLEAN), True) == "true"
