"""Personal data recognised by a field's name alone: `dateOfBirth`, `Geburtsdatum`, `PESEL`.

The spec scanner asks `classify_field` about every schema property and parameter of an OpenAPI
document, to find secrets a response gives away, special categories (Art. 9, 10) without a
purpose, and personal data in URLs. The lexicon (`_field_terms.py`) is meant to be read and
corrected by a privacy officer: plain words, grouped by kind and language (English, German, French,
Spanish, Italian, Dutch, Polish; "any" for international acronyms such as IBAN; a few national ids of other
countries under their own ISO 639-1 code).

Limits. It reads names, never values: a `notes` field full of diagnoses or a `value` holding an
e-mail address is invisible here, and detectors of values (patterns, checksums) belong to the
document scanner. A name says what a field is meant to hold, and the lexicon knows Latin-script
words only. It errs on the side of flagging for Art. 9 data and secrets, and of silence for bare
generic words (`name`, `address` of a server, `key`, `hash`, `location`, `city`).

How a name is read:

1. Accents are folded (é→e, ł→l, ß→ss) and the name is split into lower-case tokens at case
   changes, digits and anything else: `userEmailAddress2` is user, email, address, 2.
2. A term matches a contiguous run of tokens, word for word (`date of birth` in
   `customer_date_of_birth`) or with its words run together (`dateofbirth`; `e_mail` is `email`).
   A one-word term must be a whole token: `pin` is not in `shipping`, `age` not in `message`.
   Terms of three words or more also match without their linking words (`numero_securite_sociale`
   for "numéro de sécurité sociale", `fecha_nacimiento`).
3. A match inside a longer one gives way to it: `ip_address` is an online id, not an address, and
   `next_page_token` is a pagination cursor (`NOT_PERSONAL`), not a secret.
4. A name about the datum, not the datum itself, is not classified: `email_verified`, `token_type`,
   `password_changed_at`, `api_key_id`, `has_password`, `max_age` (`ABOUT_AFTER`, `ABOUT_BEFORE`).
   Not for special categories: `is_pregnant`, `vaccination_status` and `has_criminal_record`
   reveal what they are about.
5. Of what is left, the most sensitive kind wins (`credit_card_cvv` is a secret), then the longest
   match: `password_hash` is a secret, `billing_email` contact data.

Decisions on ambiguous names: a bare `name`, `nom`, `nombre`, `nome`, `naam` or `nazwa` is not a
person's name (products have names too), nor are `username` and `display_name` (account labels);
`health_insurance_number` is a national id (an identifier of general application, Art. 87; being
insured says nothing about health), as are `numero_securite_sociale` and `tessera_sanitaria`; a
bare `token` or `secret` is a secret; a bare `mail` is not contact data (`mail_server`), a bare
`hash`, `checksum` or `sha256` is nothing, a bare `fingerprint` is biometric unless a key,
certificate, device or browser fingerprint. A word several languages share is reported under the
first that lists it (`telefon` as German).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import TypeVar

from dataward.scanner._field_terms import (
    ABOUT_AFTER,
    ABOUT_BEFORE,
    LINKING,
    NOT_PERSONAL,
    TERMS,
    FieldKind,
)

__all__ = ["FieldKind", "FieldMatch", "classify_field", "is_direct_identifier", "is_special_category"]


@dataclass(frozen=True, slots=True)
class FieldMatch:
    kind: FieldKind
    term: str  # the lexicon term as written there, folded to snake_case: "numero_de_securite_sociale"
    language: str  # ISO 639-1 ("en", "de", "fr", ...) or "any" for international acronyms


_K = FieldKind

_RANK: dict[FieldKind, int] = {
    kind: rank
    for rank, kind in enumerate(
        (
            _K.SECRET,
            _K.HEALTH,
            _K.SPECIAL,
            _K.CRIMINAL,
            _K.NATIONAL_ID,
            _K.FINANCIAL,
            _K.CONTACT,
            _K.NAME,
            _K.BIRTH,
            _K.ADDRESS,
            _K.ONLINE_ID,
            _K.LOCATION,
            _K.DEMOGRAPHIC,
        )
    )
}
_SPECIAL = frozenset({_K.HEALTH, _K.SPECIAL, _K.CRIMINAL})
_DIRECT = frozenset({_K.CONTACT, _K.NAME, _K.NATIONAL_ID, _K.FINANCIAL})

_FOLD = str.maketrans(
    {"ß": "ss", "ẞ": "SS", "ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE"}
    | {"œ": "oe", "Œ": "OE", "đ": "d", "Đ": "D", "\u0131": "i", "þ": "th", "Þ": "Th"}
)
# An acronym (up to the next capitalised word), a capitalised or lower-case word, or digits.
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
_MAX_RUN = 8  # tokens; the longest term has six words, split compounds a few more


def classify_field(name: str) -> FieldMatch | None:
    """The kind of personal data a field or parameter named `name` holds, or None if its name
    does not say. Reads the name only; see the module docstring for how."""
    return _classify(_tokenise(name))


def is_special_category(kind: FieldKind) -> bool:
    """Art. 9 and Art. 10 data: processing it needs a condition of its own, beyond a legal basis."""
    return kind in _SPECIAL


def is_direct_identifier(kind: FieldKind) -> bool:
    """Data that singles a person out on its own: a name, contact details, a national id, an
    account or card number. Not birth dates, addresses (a postcode or street is shared), online
    ids, location or demographics: quasi-identifiers, which identify in combination. FINANCIAL
    counts whole, salaries with IBANs, since the kind cannot tell them apart and a salary in a URL
    is no better."""
    return kind in _DIRECT


@dataclass(frozen=True, slots=True)
class _Entry:
    kind: FieldKind | None  # None: a known name that is not personal data
    term: str
    language: str


@dataclass(frozen=True, slots=True)
class _Hit:
    start: int
    end: int
    entry: _Entry


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.translate(_FOLD))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@lru_cache(maxsize=16_384)
def _tokenise(name: str) -> tuple[str, ...]:
    return tuple(word.lower() for word in _WORD.findall(_fold(name)))


_Key = TypeVar("_Key", tuple[str, ...], str)


def _build() -> tuple[dict[tuple[str, ...], _Entry], dict[str, _Entry]]:
    """The lexicon as two look-up tables: by words, and by words run together. A key two kinds
    claim is a mistake in the lexicon, refused at import."""
    by_words: dict[tuple[str, ...], _Entry] = {}
    by_joined: dict[str, _Entry] = {}
    rows = [(kind, lang, t) for kind, langs in TERMS.items() for lang, ts in langs.items() for t in ts]
    for kind, language, text in [*rows, *((None, "any", t) for t in NOT_PERSONAL)]:
        words = _tokenise(text)
        entry = _Entry(kind, _NOT_ALNUM.sub("_", _fold(text).lower()).strip("_"), language)
        keys = [words]
        shorter = (words[0], *(w for w in words[1:] if w not in LINKING))
        if len(words) >= 3 and 2 <= len(shorter) < len(words):
            keys.append(shorter)
        for key in keys:
            _claim(by_words, key, entry)
            _claim(by_joined, "".join(key), entry)
    return by_words, by_joined


def _claim(table: dict[_Key, _Entry], key: _Key, entry: _Entry) -> None:
    known = table.setdefault(key, entry)  # the first language to list a word keeps it
    if known.kind != entry.kind:
        raise ValueError(f"{entry.term!r} ({entry.kind}) clashes with {known.term!r} ({known.kind})")


_BY_WORDS, _BY_JOINED = _build()


@lru_cache(maxsize=16_384)
def _classify(tokens: tuple[str, ...]) -> FieldMatch | None:
    hits: list[_Hit] = []
    for start in range(len(tokens)):
        for end in range(start + 1, min(len(tokens), start + _MAX_RUN) + 1):
            run = tokens[start:end]
            entry = _BY_WORDS.get(run) or _BY_JOINED.get("".join(run))
            if entry is not None:
                hits.append(_Hit(start, end, entry))
    outermost = [hit for hit in hits if not any(_inside(hit, other) for other in hits)]
    personal = [
        (hit.entry.kind, hit) for hit in outermost if hit.entry.kind is not None and not _about(hit, tokens)
    ]
    if not personal:
        return None
    # the most sensitive, then the longest, then the last (English puts the head noun last)
    kind, best = min(personal, key=lambda pair: (_RANK[pair[0]], pair[1].start - pair[1].end, -pair[1].start))
    return FieldMatch(kind, best.entry.term, best.entry.language)


def _inside(hit: _Hit, other: _Hit) -> bool:
    """Whether `hit` lies within the longer match `other`: `address` within `ip_address`."""
    longer = other.end - other.start > hit.end - hit.start
    return longer and other.start <= hit.start and hit.end <= other.end


def _about(hit: _Hit, tokens: tuple[str, ...]) -> bool:
    """Whether the name is about the datum rather than the datum (`email_verified`); never for
    special categories, which any attribute reveals."""
    if hit.entry.kind in _SPECIAL:
        return False
    return any(t in ABOUT_BEFORE for t in tokens[: hit.start]) or any(
        t in ABOUT_AFTER for t in tokens[hit.end :]
    )
