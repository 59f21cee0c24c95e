"""Field values: check each against its declared type, give its stored form, and its normalised form
for the blind index. Error messages name the field and the expected type, never the value."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Any

import phonenumbers

from dataward.errors import Problem
from dataward.policy import FieldSpec, FieldType
from dataward.policy.geography import is_country_code

__all__ = ["MAX_STRING", "Value", "check_value", "normalise_for_index"]

MAX_STRING = 4096
_EMAIL = re.compile(r"^[^@\s\x00-\x1f]{1,64}@[^@\s\x00-\x1f.]+(\.[^@\s\x00-\x1f.]+)+$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SAFE_INT = 2**53

Value = str | int | bool


def check_value(spec: FieldSpec, raw: Any, path: str) -> Value | Problem:  # noqa: PLR0911 - one case per type
    """The value in its stored form, or the problem with it."""
    match spec.type:
        case FieldType.BOOLEAN:
            return raw if isinstance(raw, bool) else Problem(path, "expected true or false")
        case FieldType.INTEGER:
            if isinstance(raw, int) and not isinstance(raw, bool) and abs(raw) < _SAFE_INT:
                return raw
            return Problem(path, "expected an integer within +/-2^53")
    if not isinstance(raw, str):
        return Problem(path, f"expected a string ({spec.type})")
    if len(raw) > MAX_STRING or _CONTROL.search(raw):
        return Problem(path, f"expected at most {MAX_STRING} characters without control characters")
    text = raw.strip()
    match spec.type:
        case FieldType.STRING:
            return text if text else Problem(path, "expected a non-empty string")
        case FieldType.EMAIL:
            return (
                text
                if len(text) <= 254 and _EMAIL.match(text)
                else Problem(path, "expected an e-mail address")
            )
        case FieldType.PHONE:
            return _phone(text, path)
        case FieldType.DATE:
            try:
                return (
                    date.fromisoformat(text).isoformat()
                    if len(text) == 10
                    else Problem(path, "expected a date")
                )
            except ValueError:
                return Problem(path, "expected a date as YYYY-MM-DD")
        case FieldType.COUNTRY:
            code = text.upper()
            return (
                code
                if is_country_code(code)
                else Problem(path, "expected an ISO 3166-1 alpha-2 country code")
            )
    return Problem(path, f"unsupported type {spec.type}")  # pragma: no cover - every type is matched


def _phone(text: str, path: str) -> Value | Problem:
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        return Problem(path, "expected a phone number in international form (+49 30 1234567)")
    if not phonenumbers.is_possible_number(number):
        return Problem(path, "expected a possible phone number in international form")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_for_index(spec: FieldSpec, value: Value) -> str:
    """The form in which equal values compare equal: e-mail lower-cased, text NFKC and casefolded."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    match spec.type:
        case FieldType.EMAIL:  # lower(), not casefold(): "ß" must not find "ss" (another domain)
            return value.lower()
        case FieldType.STRING:
            return " ".join(unicodedata.normalize("NFKC", value).casefold().split())
    return value
