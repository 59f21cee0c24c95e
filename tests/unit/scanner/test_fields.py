"""Field names as personal data: known answers per kind and language, and the traps a scanner
flooded with false positives would fall into."""

from __future__ import annotations

import pytest

from dataward.scanner.fields import (
    FieldKind,
    FieldMatch,
    classify_field,
    is_direct_identifier,
    is_special_category,
)

K = FieldKind
LANGUAGES = ("en", "de", "fr", "es", "it", "nl", "pl")
ENGLISH_ONLY = frozenset({K.LOCATION, K.ONLINE_ID})

# Known answers: names as APIs spell them, by the kind and the language of the term that matches.
# fmt: off
KNOWN: dict[tuple[FieldKind, str], tuple[str, ...]] = {
    # -- secrets ---------------------------------------------------------------------------------
    (K.SECRET, "en"): ("password", "password_hash", "pwdHash", "hashed_password", "client-secret",
                       "api_key", "X-Api-Key", "accessToken", "refresh_token", "token",
                       "password_reset_token", "Authorization", "private_key_pem", "recovery_codes", "salt"),
    (K.SECRET, "any"): ("pin", "PIN", "cvv", "otp_code"),
    (K.SECRET, "de"): ("Passwort", "kennwort_hash", "geheimerSchlüssel", "Zugangsdaten"),
    (K.SECRET, "fr"): ("mot_de_passe", "motDePasse", "clé-privée", "jeton_d_accès"),
    (K.SECRET, "es"): ("contraseña", "contrasena", "claveSecreta", "codigo-de-verificacion"),
    (K.SECRET, "it"): ("chiave_segreta", "codiceDiSicurezza", "credenziali"),
    (K.SECRET, "nl"): ("wachtwoord", "geheimeSleutel", "privé-sleutel"),
    (K.SECRET, "pl"): ("hasło", "HASLO", "kluczPrywatny", "kod-weryfikacyjny"),
    # -- national ids ----------------------------------------------------------------------------
    (K.NATIONAL_ID, "en"): ("ssn", "social_security_number", "passportNumber", "tax-id",
                            "driver_license_number", "national_id", "nhsNumber"),
    (K.NATIONAL_ID, "de"): ("Steuer-ID", "steuerIdentifikationsnummer", "Personalausweisnummer",
                            "Führerschein", "sozialversicherungsnummer", "AHV-Nummer"),
    (K.NATIONAL_ID, "fr"): ("numero_securite_sociale", "numéroDeSécuritéSociale", "NIR", "carte-d-identite",
                            "permis_de_conduire"),
    (K.NATIONAL_ID, "es"): ("DNI", "nie", "NIF", "numero_pasaporte", "numeroSeguridadSocial", "cédula"),
    (K.NATIONAL_ID, "it"): ("codiceFiscale", "codice_fiscale", "carta-d-identita", "tesseraSanitaria",
                            "patente_di_guida"),
    (K.NATIONAL_ID, "nl"): ("bsn", "burgerServiceNummer", "paspoortnummer", "rijbewijs"),
    (K.NATIONAL_ID, "pl"): ("PESEL", "peselNumber", "nip", "numerDowoduOsobistego", "prawo_jazdy"),
    (K.NATIONAL_ID, "sv"): ("personnummer",),
    (K.NATIONAL_ID, "da"): ("cpr_nummer",),
    (K.NATIONAL_ID, "fi"): ("henkilötunnus",),
    (K.NATIONAL_ID, "pt"): ("cpf",),
    # -- financial -------------------------------------------------------------------------------
    (K.FINANCIAL, "any"): ("iban", "IBAN", "iban_number", "pan"),
    (K.FINANCIAL, "en"): ("bank_account_number", "creditCardNumber", "card-number", "salary",
                          "annual_income", "accountNumber"),
    (K.FINANCIAL, "de"): ("Kontonummer", "kreditkartenNummer", "Gehalt", "jahresEinkommen"),
    (K.FINANCIAL, "fr"): ("numero_de_compte", "carteBancaire", "salaire", "RIB"),
    (K.FINANCIAL, "es"): ("numeroDeCuenta", "cuenta_bancaria", "tarjeta-de-crédito", "sueldo"),
    (K.FINANCIAL, "it"): ("conto_corrente", "numeroCarta", "stipendio", "reddito"),
    (K.FINANCIAL, "nl"): ("rekeningnummer", "bankRekeningNummer", "salaris", "inkomen"),
    (K.FINANCIAL, "pl"): ("numer_konta", "kartaKredytowa", "wynagrodzenie", "dochód"),
    # -- health (Art. 9) -------------------------------------------------------------------------
    (K.HEALTH, "en"): ("diagnosis", "medicalHistory", "blood-type", "allergies", "health", "heart_rate",
                       "mental_health_notes"),
    (K.HEALTH, "any"): ("bmi", "icd10_code"),
    (K.HEALTH, "de"): ("Diagnose", "Krankheit", "Blutgruppe", "gesundheitsZustand", "schwanger"),
    (K.HEALTH, "fr"): ("maladie", "état_de_santé", "groupe-sanguin", "dossierMedical", "santé"),
    (K.HEALTH, "es"): ("enfermedad", "salud", "grupoSanguineo", "discapacidad", "historia_clínica"),
    (K.HEALTH, "it"): ("diagnosi", "malattia", "gruppo_sanguigno", "cartellaClinica", "disabilità"),
    (K.HEALTH, "nl"): ("ziekte", "gezondheid", "bloedgroep", "medischDossier", "zwangerschap"),
    (K.HEALTH, "pl"): ("diagnoza", "choroba", "grupa_krwi", "stanZdrowia", "niepełnosprawność"),
    # -- other special categories (Art. 9) -------------------------------------------------------
    (K.SPECIAL, "en"): ("religion", "ethnicity", "ethnic_origin", "race", "politicalParty",
                        "trade-union-membership", "sexual_orientation", "sexLife", "genetic_data",
                        "biometric_template", "fingerprint", "face_scan"),
    (K.SPECIAL, "any"): ("dna_sequence",),
    (K.SPECIAL, "de"): ("Religionszugehörigkeit", "Konfession", "Gewerkschaft", "sexuelleOrientierung",
                        "Fingerabdruck", "politische_meinung"),
    (K.SPECIAL, "fr"): ("origine_ethnique", "opinionPolitique", "syndicat", "orientation-sexuelle",
                        "empreinte_digitale"),
    (K.SPECIAL, "es"): ("etnia", "raza", "afiliacionSindical", "orientación_sexual", "huella-dactilar",
                        "partido_politico"),
    (K.SPECIAL, "it"): ("religione", "razza", "orientamentoSessuale", "dati_biometrici",
                        "iscrizione-sindacale"),
    (K.SPECIAL, "nl"): ("religie", "godsdienst", "vakbond", "seksuele_geaardheid", "vingerafdruk",
                        "etnische-afkomst"),
    (K.SPECIAL, "pl"): ("religia", "wyznanie", "zwiazekZawodowy", "orientacja_seksualna", "odcisk-palca",
                        "poglądy_polityczne"),
    # -- criminal (Art. 10) ----------------------------------------------------------------------
    (K.CRIMINAL, "en"): ("criminal_record", "criminalHistory", "convictions", "offence", "background-check"),
    (K.CRIMINAL, "de"): ("Vorstrafen", "Führungszeugnis", "fuehrungszeugnis", "strafregister"),
    (K.CRIMINAL, "fr"): ("casier_judiciaire", "casierJudiciaire", "condamnations"),
    (K.CRIMINAL, "es"): ("antecedentes_penales", "antecedentesPenales", "delitos"),
    (K.CRIMINAL, "it"): ("casellario_giudiziale", "precedentiPenali", "reati"),
    (K.CRIMINAL, "nl"): ("strafblad", "veroordelingen", "VOG"),
    (K.CRIMINAL, "pl"): ("karalność", "niekaralnosc", "zaswiadczenie_niekaralnosci", "wyroki"),
    # -- contact ---------------------------------------------------------------------------------
    (K.CONTACT, "en"): ("email", "emailAddress", "EMAIL_ADDRESS", "e-mail", "user.email", "phone2",
                        "phoneNumber", "mobile", "fax", "emails"),
    (K.CONTACT, "any"): ("msisdn",),
    (K.CONTACT, "de"): ("Telefonnummer", "Handynummer", "E-Mail-Adresse", "emailAdresse", "Telefon"),
    (K.CONTACT, "fr"): ("numéro_de_téléphone", "numeroTelephone", "courriel", "adresse-électronique",
                        "adresse_mail"),
    (K.CONTACT, "es"): ("teléfono", "correo_electronico", "móvil", "numeroDeTelefono", "correo"),
    (K.CONTACT, "it"): ("cellulare", "numero_di_telefono", "indirizzoEmail", "posta-elettronica"),
    (K.CONTACT, "nl"): ("telefoonnummer", "telefoon", "e-mailadres", "mobielNummer"),
    (K.CONTACT, "pl"): ("numer_telefonu", "komórka", "adresEmail", "poczta_elektroniczna"),
    # -- names -----------------------------------------------------------------------------------
    (K.NAME, "en"): ("first_name", "firstName", "LAST_NAME", "full-name", "surname", "givenName",
                     "maiden_name", "cardholder_name", "mother_maiden_name"),
    (K.NAME, "de"): ("Vorname", "nachname", "Familienname", "vollständigerName"),
    (K.NAME, "fr"): ("prénom", "nomDeFamille", "nom_de_naissance", "nom-complet"),
    (K.NAME, "es"): ("apellido", "apellidos", "nombreCompleto", "primer_apellido"),
    (K.NAME, "it"): ("cognome", "nome_completo", "nomeECognome"),
    (K.NAME, "nl"): ("voornaam", "achternaam", "tussenvoegsel", "volledigeNaam"),
    (K.NAME, "pl"): ("imię", "nazwisko", "imie_i_nazwisko", "nazwiskoRodowe"),
    # -- addresses -------------------------------------------------------------------------------
    (K.ADDRESS, "en"): ("address", "street", "postal_code", "zipCode", "zip", "home-address",
                        "address_line1", "shippingAddress"),
    (K.ADDRESS, "de"): ("Straße", "STRASSE", "Postleitzahl", "PLZ", "hausnummer", "Anschrift"),
    (K.ADDRESS, "fr"): ("rue", "code_postal", "codePostal", "adresse-postale"),
    (K.ADDRESS, "es"): ("dirección", "calle", "codigo_postal", "domicilio"),
    (K.ADDRESS, "it"): ("indirizzo", "numero_civico", "indirizzoDiResidenza", "residenza"),
    (K.ADDRESS, "nl"): ("adres", "straatnaam", "huisnummer", "woonplaats"),
    (K.ADDRESS, "pl"): ("ulica", "kod_pocztowy", "kodPocztowy", "adres_zamieszkania", "numerDomu"),
    # -- birth -----------------------------------------------------------------------------------
    (K.BIRTH, "en"): ("date_of_birth", "dateOfBirth", "DOB", "birthday", "birthdate",
                      "customer_date_of_birth", "place-of-birth", "dateofbirth"),
    (K.BIRTH, "de"): ("Geburtsdatum", "geburtsOrt", "Geburtstag", "geburts_datum"),
    (K.BIRTH, "fr"): ("date_de_naissance", "dateNaissance", "lieu-de-naissance", "naissance"),
    (K.BIRTH, "es"): ("fecha_de_nacimiento", "fechaNacimiento", "lugarDeNacimiento", "cumpleaños"),
    (K.BIRTH, "it"): ("data_di_nascita", "dataNascita", "luogo-di-nascita", "compleanno"),
    (K.BIRTH, "nl"): ("geboortedatum", "geboorteDatum", "geboorteplaats", "verjaardag"),
    (K.BIRTH, "pl"): ("data_urodzenia", "dataUrodzenia", "miejsce-urodzenia", "urodziny"),
    # -- location and online ids (English is enough) ---------------------------------------------
    (K.LOCATION, "en"): ("latitude", "lng", "geolocation", "geo_location", "lat_lng", "current-location",
                         "gpsCoordinates"),
    (K.LOCATION, "any"): ("gps",),
    (K.ONLINE_ID, "en"): ("ip_address", "ipAddress", "userIPAddress", "client_ip", "device_id",
                          "mac_address", "advertisingId", "X-Forwarded-For", "cookie_id", "session_id",
                          "deviceFingerprint"),
    (K.ONLINE_ID, "any"): ("ip", "ipv6"),
    (K.ONLINE_ID, "fr"): ("adresse_ip",),
    (K.ONLINE_ID, "de"): ("IP-Adresse",),
    (K.ONLINE_ID, "es"): ("direccionIp",),
    # -- demographics ----------------------------------------------------------------------------
    (K.DEMOGRAPHIC, "en"): ("gender", "sex", "nationality", "age", "customer_age", "maritalStatus",
                            "age-group"),
    (K.DEMOGRAPHIC, "de"): ("Geschlecht", "Staatsangehörigkeit", "familienstand", "Alter"),
    (K.DEMOGRAPHIC, "fr"): ("sexe", "nationalité", "situation_familiale", "etatCivil"),
    (K.DEMOGRAPHIC, "es"): ("sexo", "género", "nacionalidad", "estado_civil", "edad"),
    (K.DEMOGRAPHIC, "it"): ("sesso", "nazionalità", "cittadinanza", "statoCivile"),
    (K.DEMOGRAPHIC, "nl"): ("geslacht", "nationaliteit", "leeftijd", "burgerlijke-staat"),
    (K.DEMOGRAPHIC, "pl"): ("płeć", "plec", "obywatelstwo", "stanCywilny", "wiek"),
}
POSITIVES = [(name, kind, language) for (kind, language), names in KNOWN.items() for name in names]

# Names a scanner must leave alone: generic words, substrings of terms, and names about a datum
# rather than the datum.
NEGATIVES: list[str] = [
    # generic words and plain identifiers
    "name", "Name", "id", "ID", "user_id", "userId", "client_id", "type", "status", "description",
    "created_at", "city", "country", "location", "", "___", "123",
    # a thing's name, not a person's
    "product_name", "company_name", "display_name", "username", "hostname", "nom", "nom_produit",
    "nombre_producto", "nome_prodotto", "naam", "nazwa",
    # a term inside a longer word is no match
    "shipping", "spinner", "pinned", "sussex", "trace", "trace_id", "racecar", "embrace", "page", "message",
    "storage", "language", "usage", "mileage", "ship", "tip", "tips", "nominal", "mailbox_count",
    "diagnostics", "orientation", "union",
    # credentials' neighbours that are not credentials
    "token_type", "tokenType", "expires_in", "page_token", "next_page_token", "nextPageToken", "cursor",
    "token_count", "hash", "content_hash", "sha256", "checksum", "etag", "key", "sort_key", "public_key",
    "api_key_id", "private_key_id", "secret_name", "token_endpoint", "token_url",
    "id_token_signing_alg_values_supported", "refresh_token_expires_in", "client_secret_expires_at",
    "password_changed_at", "password_reset_required", "has_password", "min_password_length", "pin_enabled",
    "cvc_check",
    # about a datum, not the datum
    "email_verified", "phone_verified", "email_template", "mail", "phone_type", "address_type",
    "max_age", "cache_age", "age_rating", "salary_min",
    # other traps
    "server_address", "ip_allowlist", "zip_file", "health_check", "healthcheck", "race_condition",
    "ssl_certificate_fingerprint", "key_fingerprint", "iPhoneModel", "liczba_dni",
]

# When several terms match: the longest wins over what it contains, then the most sensitive kind.
PRECEDENCE: list[tuple[str, FieldKind]] = [
    ("password_hash", K.SECRET),  # not a bare hash
    ("pwd_hash", K.SECRET),
    ("credit_card_cvv", K.SECRET),  # the secret outranks the card
    ("email_verification_code", K.SECRET),
    ("health_insurance_number", K.NATIONAL_ID),  # an identifier, not health data
    ("Krankenversichertennummer", K.NATIONAL_ID),
    ("billing_email", K.CONTACT),
    ("email_address", K.CONTACT),  # not an address
    ("ip_address", K.ONLINE_ID),  # not an address
    ("adresse_ip", K.ONLINE_ID),
    ("mac_address", K.ONLINE_ID),
    ("device_fingerprint", K.ONLINE_ID),  # not biometric
    ("sex_offender", K.CRIMINAL),  # not demographic
    ("patient_religion_email", K.SPECIAL),  # two terms: the more sensitive
    ("zip", K.ADDRESS),  # `ip` is no part of it
    # special categories stay special whatever is said about them
    ("is_pregnant", K.HEALTH),
    ("vaccination_status", K.HEALTH),
    ("diagnosis_count", K.HEALTH),
    ("has_criminal_record", K.CRIMINAL),
    ("race_id", K.SPECIAL),
]
# fmt: on


@pytest.mark.parametrize(("name", "kind", "language"), POSITIVES)
def test_recognises_personal_data_by_name(name: str, kind: FieldKind, language: str) -> None:
    match = classify_field(name)
    assert match is not None, name
    assert (match.kind, match.language) == (kind, language)


def test_every_kind_is_known_in_every_language() -> None:
    covered = {(kind, language) for _, kind, language in POSITIVES}
    for kind in FieldKind:
        languages = ("en",) if kind in ENGLISH_ONLY else LANGUAGES
        missing = [language for language in languages if (kind, language) not in covered]
        assert not missing, f"{kind}: no known answer in {missing}"


def test_at_least_five_known_answers_per_language() -> None:
    for language in LANGUAGES:
        assert sum(1 for _, _, lang in POSITIVES if lang == language) >= 5, language


@pytest.mark.parametrize("name", NEGATIVES)
def test_leaves_names_that_are_not_personal_data_alone(name: str) -> None:
    assert classify_field(name) is None


@pytest.mark.parametrize(("name", "kind"), PRECEDENCE)
def test_prefers_the_longest_then_the_most_sensitive_match(name: str, kind: FieldKind) -> None:
    match = classify_field(name)
    assert match is not None
    assert match.kind is kind


@pytest.mark.parametrize(
    "name",
    ["emailAddress", "EmailAddress", "EMAIL_ADDRESS", "email_address", "email-address", "email.address",
     "emailaddress", "e_mail_address", "customer.emailAddress", "emailAddress2"],
)  # fmt: skip
def test_reads_every_spelling_of_a_name_alike(name: str) -> None:
    assert classify_field(name) == FieldMatch(K.CONTACT, "email_address", "en")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Geburtsdatum", FieldMatch(K.BIRTH, "geburtsdatum", "de")),
        ("dateofbirth", FieldMatch(K.BIRTH, "date_of_birth", "en")),
        ("numero_securite_sociale", FieldMatch(K.NATIONAL_ID, "numero_de_securite_sociale", "fr")),
        ("fecha_nacimiento", FieldMatch(K.BIRTH, "fecha_de_nacimiento", "es")),
        ("Steuer-ID", FieldMatch(K.NATIONAL_ID, "steuer_id", "de")),
        ("hasło", FieldMatch(K.SECRET, "haslo", "pl")),
        ("Straße", FieldMatch(K.ADDRESS, "strasse", "de")),
        ("ipv4_address", FieldMatch(K.ONLINE_ID, "ipv4_address", "en")),
        ("iban", FieldMatch(K.FINANCIAL, "iban", "any")),
        ("e-mail", FieldMatch(K.CONTACT, "email", "en")),
        ("téléphone", FieldMatch(K.CONTACT, "telephone", "en")),  # shared with English, listed there first
    ],
)
def test_names_the_term_that_matched_in_its_canonical_form(name: str, expected: FieldMatch) -> None:
    assert classify_field(name) == expected


@pytest.mark.parametrize("kind", list(FieldKind))
def test_special_categories_are_art_9_and_10(kind: FieldKind) -> None:
    assert is_special_category(kind) is (kind in {K.HEALTH, K.SPECIAL, K.CRIMINAL})


@pytest.mark.parametrize("kind", list(FieldKind))
def test_direct_identifiers_single_a_person_out_alone(kind: FieldKind) -> None:
    assert is_direct_identifier(kind) is (kind in {K.CONTACT, K.NAME, K.NATIONAL_ID, K.FINANCIAL})


def test_a_very_long_name_is_read_without_trouble() -> None:
    name = "x_" * 5_000 + "date_of_birth"
    match = classify_field(name)
    assert match is not None
    assert match.kind is K.BIRTH
