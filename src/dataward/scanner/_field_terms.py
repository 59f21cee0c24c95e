"""The words behind `fields.classify_field`: what kinds of personal data there are, and the names
each is known by, per language. Meant to be read and corrected by a privacy officer; how a name is
matched against these words is explained in `fields`."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["ABOUT_AFTER", "ABOUT_BEFORE", "LINKING", "NOT_PERSONAL", "TERMS", "FieldKind"]


class FieldKind(StrEnum):
    """What kind of personal data a name holds. When a name says several, `_RANK` orders them."""

    SECRET = "secret"  # noqa: S105 - a kind; not personal data itself, but it opens what is (Art. 32)
    NATIONAL_ID = "national_id"
    FINANCIAL = "financial"
    HEALTH = "health"  # Art. 9
    SPECIAL = "special"  # Art. 9 other than health
    CRIMINAL = "criminal"  # Art. 10
    CONTACT = "contact"
    NAME = "name"
    ADDRESS = "address"
    BIRTH = "birth"
    LOCATION = "location"
    ONLINE_ID = "online_id"
    DEMOGRAPHIC = "demographic"


_K = FieldKind

# fmt: off
TERMS: dict[FieldKind, dict[str, tuple[str, ...]]] = {
    _K.SECRET: {
        "any": ("otp", "totp", "pin", "cvv", "cvc"),
        "en": ("password", "passwd", "pwd", "passcode", "passphrase", "password hash", "salt", "secret",
               "client secret", "api key", "api secret", "api token", "secret key", "private key",
               "signing key", "encryption key", "access key", "session key", "token", "access token",
               "refresh token", "id token", "auth token", "bearer token", "session token", "csrf token",
               "reset token", "one time password", "one time code", "verification code", "mfa code",
               "recovery code", "recovery codes", "backup code", "backup codes", "pin code",
               "card verification code", "card security code", "security code", "security answer",
               "secret answer", "credential", "credentials", "auth code", "authorization code",
               "authorization", "proxy authorization"),
        "de": ("Passwort", "Kennwort", "Geheimnis", "geheimer Schlüssel", "geheimer Schluessel",
               "privater Schlüssel", "privater Schluessel", "API-Schlüssel", "Zugangsdaten", "Zugangscode",
               "Geheimzahl", "Sicherheitscode", "Kartenprüfnummer", "Einmalpasswort", "Bestätigungscode"),
        "fr": ("mot de passe", "mdp", "code secret", "clé secrète", "clé privée", "clé API", "jeton",
               "jeton d'accès", "code PIN", "cryptogramme", "code de vérification", "code de sécurité"),
        "es": ("contraseña", "clave de acceso", "clave secreta", "clave privada", "clave API",
               "código de seguridad", "código de verificación", "código secreto", "credenciales"),
        "it": ("chiave segreta", "chiave privata", "chiave API", "codice segreto", "codice di sicurezza",
               "codice di verifica", "credenziali", "parola d'ordine"),
        "nl": ("wachtwoord", "geheime sleutel", "privésleutel", "privé sleutel", "API-sleutel",
               "toegangstoken", "pincode", "beveiligingscode", "verificatiecode", "inloggegevens"),
        "pl": ("hasło", "klucz prywatny", "tajny klucz", "klucz API", "kod PIN", "kod bezpieczeństwa",
               "kod weryfikacyjny", "dane logowania", "token dostępu"),
    },
    _K.NATIONAL_ID: {
        "en": ("ssn", "social security", "social security number", "national id", "national identifier",
               "national id number", "national insurance number", "ni number", "nino", "tax id",
               "tax identifier", "tax number", "taxpayer id", "tin", "passport", "passport number",
               "passport no", "passport id", "id card", "identity card", "id card number",
               "identity number", "identity document", "driver license", "drivers license",
               "driver licence", "driving licence", "driving license", "license number",
               "licence number", "health insurance number", "medicare number", "nhs number",
               "social insurance number", "residence permit", "voter id", "pps number", "ppsn",
               "aadhaar"),
        "de": ("Steuer-ID", "Steueridentifikationsnummer", "Steuernummer", "Personalausweis",
               "Personalausweisnummer", "Ausweisnummer", "Reisepass", "Reisepassnummer", "Passnummer",
               "Führerschein", "Fuehrerschein", "Führerscheinnummer", "Sozialversicherungsnummer",
               "Rentenversicherungsnummer", "Krankenversichertennummer", "Versichertennummer", "AHV",
               "AHV-Nummer", "SVNR"),
        "fr": ("numéro de sécurité sociale", "sécurité sociale", "NIR", "numéro fiscal",
               "numéro d'identification fiscale", "carte d'identité", "carte nationale d'identité", "CNI",
               "passeport", "numéro de passeport", "permis de conduire", "numéro INSEE", "AVS", "NISS",
               "numéro de registre national", "carte vitale"),
        "es": ("DNI", "NIE", "NIF", "documento nacional de identidad", "número de identificación fiscal",
               "pasaporte", "número de pasaporte", "permiso de conducir", "carnet de conducir",
               "número de la seguridad social", "seguridad social", "número de afiliación", "cédula",
               "CURP", "tarjeta sanitaria"),
        "it": ("codice fiscale", "carta d'identità", "carta di identità", "passaporto",
               "numero di passaporto", "patente", "patente di guida", "tessera sanitaria"),
        "nl": ("BSN", "burgerservicenummer", "sofinummer", "paspoort", "paspoortnummer",
               "identiteitskaart", "ID-kaart", "identiteitsbewijs", "rijbewijs", "rijbewijsnummer",
               "rijksregisternummer"),
        "pl": ("PESEL", "NIP", "dowód osobisty", "numer dowodu", "numer dowodu osobistego", "paszport",
               "numer paszportu", "prawo jazdy", "numer prawa jazdy"),
        "sv": ("personnummer", "samordningsnummer"),
        "da": ("CPR-nummer",),
        "fi": ("henkilötunnus", "hetu"),
        "pt": ("CPF",),
    },
    _K.FINANCIAL: {
        "any": ("iban", "pan"),
        "en": ("bank account", "bank account number", "account number", "bank details", "card number",
               "credit card", "credit card number", "debit card", "payment card",
               "primary account number", "salary", "income", "annual income", "wage", "wages",
               "net worth", "credit score"),
        "de": ("Kontonummer", "Bankverbindung", "Bankkonto", "Kreditkarte", "Kreditkartennummer",
               "Kartennummer", "Gehalt", "Einkommen", "Jahreseinkommen", "Lohn"),
        "fr": ("numéro de compte", "compte bancaire", "RIB", "carte bancaire", "carte de crédit",
               "numéro de carte", "salaire", "revenu", "revenus"),
        "es": ("número de cuenta", "cuenta bancaria", "cuenta corriente", "tarjeta de crédito",
               "número de tarjeta", "salario", "sueldo", "ingresos"),
        "it": ("numero di conto", "conto corrente", "conto bancario", "carta di credito",
               "numero di carta", "numero carta", "stipendio", "reddito", "retribuzione"),
        "nl": ("rekeningnummer", "bankrekening", "bankrekeningnummer", "creditcardnummer", "kaartnummer",
               "salaris", "inkomen", "loon"),
        "pl": ("numer konta", "numer rachunku", "rachunek bankowy", "konto bankowe", "karta kredytowa",
               "numer karty", "wynagrodzenie", "pensja", "dochód", "zarobki"),
    },
    _K.HEALTH: {
        "any": ("bmi", "icd", "hiv"),
        "en": ("health", "health data", "health status", "medical", "medical record", "medical records",
               "medical history", "medical condition", "diagnosis", "diagnoses", "disease", "diseases",
               "illness", "medication", "medications", "prescription", "prescriptions", "allergy",
               "allergies", "disability", "disabilities", "blood type", "blood group", "blood pressure",
               "heart rate", "pregnancy", "pregnant", "symptom", "symptoms", "vaccination",
               "vaccination status", "mental health", "sexual health", "sick leave", "smoker"),
        "de": ("Gesundheit", "Gesundheitsdaten", "Gesundheitszustand", "Diagnose", "Krankheit",
               "Erkrankung", "Medikament", "Medikamente", "Medikation", "Allergie", "Allergien",
               "Behinderung", "Schwerbehinderung", "Blutgruppe", "Schwangerschaft", "schwanger",
               "Krankmeldung", "Arbeitsunfähigkeit", "Krankengeschichte", "Befund", "Impfstatus"),
        "fr": ("santé", "données de santé", "état de santé", "diagnostic médical", "maladie",
               "médicament", "médicaments", "traitement médical", "handicap", "groupe sanguin",
               "grossesse", "enceinte", "antécédents médicaux", "dossier médical", "arrêt maladie"),
        "es": ("salud", "datos de salud", "estado de salud", "diagnóstico", "enfermedad", "medicamento",
               "medicación", "alergia", "alergias", "discapacidad", "grupo sanguíneo", "embarazo",
               "embarazada", "historial médico", "historia clínica", "baja médica"),
        "it": ("salute", "dati sanitari", "stato di salute", "diagnosi", "malattia", "farmaco", "farmaci",
               "allergie", "disabilità", "invalidità", "gruppo sanguigno", "gravidanza", "incinta",
               "cartella clinica", "anamnesi", "certificato medico"),
        "nl": ("gezondheid", "gezondheidsgegevens", "ziekte", "medicatie", "medicijn", "medicijnen",
               "bloedgroep", "zwangerschap", "zwanger", "medisch dossier", "ziekteverzuim",
               "arbeidsongeschiktheid"),
        "pl": ("zdrowie", "stan zdrowia", "dane medyczne", "diagnoza", "choroba", "leki",
               "niepełnosprawność", "grupa krwi", "ciąża", "dokumentacja medyczna",
               "zwolnienie lekarskie", "historia choroby"),
    },
    _K.SPECIAL: {
        "any": ("dna",),
        "en": ("religion", "religious", "religious belief", "religious beliefs", "religious affiliation",
               "ethnicity", "ethnic", "ethnic origin", "race", "racial origin", "political opinion",
               "political opinions", "political party", "political affiliation", "political views",
               "trade union", "union membership", "trade union membership", "sexual orientation",
               "sex life", "sexuality", "genetic", "genetic data", "genome", "biometric", "biometrics",
               "biometric data", "fingerprint", "fingerprints", "face template", "face scan",
               "facial image", "faceprint", "iris scan", "retina scan", "voiceprint"),
        "de": ("Religionszugehörigkeit", "Konfession", "Kirchensteuermerkmal", "ethnische Herkunft",
               "politische Meinung", "Parteizugehörigkeit", "Gewerkschaft", "Gewerkschaftszugehörigkeit",
               "sexuelle Orientierung", "Sexualleben", "genetische Daten", "biometrische Daten",
               "Fingerabdruck"),
        "fr": ("croyance religieuse", "convictions religieuses", "origine ethnique", "ethnie",
               "opinion politique", "opinions politiques", "parti politique", "syndicat",
               "appartenance syndicale", "orientation sexuelle", "vie sexuelle", "données génétiques",
               "données biométriques", "empreinte digitale", "empreintes digitales"),
        "es": ("creencias religiosas", "origen étnico", "etnia", "raza", "opinión política",
               "opiniones políticas", "partido político", "afiliación sindical", "sindicato",
               "orientación sexual", "vida sexual", "datos genéticos", "datos biométricos",
               "huella dactilar", "huella digital"),
        "it": ("religione", "convinzioni religiose", "origine etnica", "razza", "opinione politica",
               "opinioni politiche", "partito politico", "sindacato", "appartenenza sindacale",
               "iscrizione sindacale", "orientamento sessuale", "vita sessuale", "dati genetici",
               "dati biometrici", "impronta digitale", "impronte digitali"),
        "nl": ("religie", "godsdienst", "levensbeschouwing", "etnische afkomst", "etniciteit",
               "politieke voorkeur", "politieke partij", "politieke opvatting", "vakbond",
               "vakbondslidmaatschap", "seksuele geaardheid", "seksuele oriëntatie", "seksleven",
               "genetische gegevens", "biometrische gegevens", "vingerafdruk"),
        "pl": ("religia", "wyznanie", "przekonania religijne", "pochodzenie etniczne",
               "poglądy polityczne", "partia polityczna", "przynależność partyjna", "związek zawodowy",
               "przynależność związkowa", "orientacja seksualna", "życie seksualne", "dane genetyczne",
               "dane biometryczne", "odcisk palca", "odciski palców"),
    },
    _K.CRIMINAL: {
        "en": ("criminal", "criminal record", "criminal records", "criminal history",
               "criminal background", "criminal conviction", "criminal convictions", "conviction",
               "convictions", "offence", "offences", "offense", "offenses", "criminal offence",
               "arrest record", "arrests", "felony", "felonies", "police record", "background check",
               "dbs check", "sex offender"),
        "de": ("Vorstrafe", "Vorstrafen", "Strafregister", "Führungszeugnis", "Fuehrungszeugnis",
               "Straftat", "Straftaten", "Verurteilung", "Verurteilungen", "Strafregisterauszug"),
        "fr": ("casier judiciaire", "condamnation", "condamnations", "infraction", "infractions",
               "antécédents judiciaires", "extrait de casier judiciaire"),
        "es": ("antecedentes penales", "certificado de antecedentes penales", "condena", "condenas",
               "delito", "delitos", "registro penal"),
        "it": ("casellario giudiziale", "certificato penale", "condanna", "condanne", "reato", "reati",
               "precedenti penali", "carichi pendenti"),
        "nl": ("strafblad", "justitiële documentatie", "veroordeling", "veroordelingen", "strafbaar feit",
               "strafbare feiten", "verklaring omtrent het gedrag", "VOG"),
        "pl": ("karalność", "niekaralność", "zaświadczenie o niekaralności", "wyrok", "wyroki",
               "przestępstwo", "przestępstwa", "rejestr karny", "krajowy rejestr karny", "KRK"),
    },
    _K.CONTACT: {
        "any": ("msisdn",),
        "en": ("email", "emails", "email address", "email addresses", "mail address", "phone", "phones",
               "phone number", "telephone", "telephone number", "tel", "mobile", "mobile number",
               "mobile phone", "cellphone", "cell number", "fax", "fax number", "emergency contact"),
        "de": ("Telefon", "Telefonnummer", "Rufnummer", "Handy", "Handynummer", "Mobilnummer",
               "Mobiltelefon", "Faxnummer", "E-Mail-Adresse", "Mailadresse"),
        "fr": ("téléphone", "numéro de téléphone", "téléphone portable", "numéro de portable",
               "courriel", "adresse e-mail", "adresse électronique", "adresse mail"),
        "es": ("teléfono", "número de teléfono", "móvil", "celular", "correo", "correo electrónico",
               "dirección de correo"),
        "it": ("numero di telefono", "cellulare", "indirizzo email", "indirizzo e-mail",
               "posta elettronica", "recapito telefonico"),
        "nl": ("telefoon", "telefoonnummer", "mobiel", "mobiel nummer", "mobiele nummer", "e-mailadres",
               "mailadres"),
        "pl": ("numer telefonu", "komórka", "numer komórkowy", "adres email", "adres e-mail",
               "poczta elektroniczna"),
    },
    _K.NAME: {
        "en": ("first name", "last name", "full name", "given name", "family name", "surname",
               "forename", "middle name", "maiden name", "birth name", "legal name", "nickname", "fname",
               "lname", "customer name", "patient name", "employee name", "contact name",
               "cardholder name", "holder name", "person name", "member name", "recipient name"),
        "de": ("Vorname", "Nachname", "Familienname", "Geburtsname", "vollständiger Name", "Rufname",
               "Zuname"),
        "fr": ("prénom", "nom de famille", "nom complet", "nom de naissance", "nom de jeune fille",
               "nom d'usage"),
        "es": ("nombre completo", "apellido", "apellidos", "primer apellido", "segundo apellido",
               "nombre de pila"),
        "it": ("cognome", "nome completo", "nome e cognome", "nome di battesimo"),
        "nl": ("voornaam", "achternaam", "familienaam", "volledige naam", "meisjesnaam", "roepnaam",
               "tussenvoegsel"),
        "pl": ("imię", "nazwisko", "imię i nazwisko", "nazwisko rodowe", "drugie imię"),
    },
    _K.ADDRESS: {
        "en": ("address", "addresses", "street", "street address", "street name", "house number",
               "postal code", "postcode", "zip", "zip code", "home address", "address line",
               "billing address", "shipping address", "delivery address", "mailing address",
               "postal address", "residential address"),
        "de": ("Straße", "Strasse", "Hausnummer", "Postleitzahl", "PLZ", "Anschrift", "Adresse",
               "Wohnort", "Wohnanschrift", "Meldeadresse", "Lieferadresse", "Rechnungsadresse"),
        "fr": ("rue", "numéro de rue", "code postal", "adresse postale", "domicile", "lieu de résidence",
               "adresse de livraison", "adresse de facturation"),
        "es": ("dirección", "dirección postal", "calle", "código postal", "domicilio",
               "dirección de envío", "dirección de facturación"),
        "it": ("indirizzo", "numero civico", "indirizzo di residenza", "residenza"),
        "nl": ("adres", "straat", "straatnaam", "huisnummer", "woonadres", "postadres", "woonplaats"),
        "pl": ("ulica", "kod pocztowy", "numer domu", "numer mieszkania", "adres zamieszkania",
               "miejsce zamieszkania"),
    },
    _K.BIRTH: {
        "en": ("date of birth", "birth date", "dob", "birthday", "birth place", "place of birth",
               "birth year", "year of birth", "birth time", "country of birth", "born", "born on",
               "born at"),
        "de": ("Geburtsdatum", "Geburtstag", "Geburtsort", "Geburtsjahr", "Geburtsland"),
        "fr": ("date de naissance", "date naissance", "lieu de naissance", "naissance", "anniversaire"),
        "es": ("fecha de nacimiento", "lugar de nacimiento", "nacimiento", "cumpleaños"),
        "it": ("data di nascita", "luogo di nascita", "nascita", "compleanno"),
        "nl": ("geboortedatum", "geboorteplaats", "geboortejaar", "geboorteland", "verjaardag"),
        "pl": ("data urodzenia", "miejsce urodzenia", "rok urodzenia", "urodziny"),
    },
    _K.LOCATION: {
        "any": ("gps",),
        "en": ("gps location", "gps coordinates", "latitude", "longitude", "lat", "lng", "lon", "latlng",
               "lat long", "geolocation", "geo location", "geo", "geo point", "geo coordinates",
               "coordinates", "coords", "geohash", "current location", "last known location",
               "precise location", "device location", "user location", "home location",
               "location history"),
    },
    _K.ONLINE_ID: {
        "any": ("ip", "ipv4", "ipv6", "imei", "imsi", "idfa", "idfv", "gaid", "aaid", "udid"),
        "en": ("ip address", "ip addr", "ipv4 address", "ipv6 address", "client ip", "remote ip",
               "remote address", "remote addr", "x forwarded for", "forwarded for", "x real ip",
               "device id", "device identifier", "device uuid", "device fingerprint",
               "browser fingerprint", "cookie", "cookies", "cookie id", "advertising id", "mac address",
               "mac addr", "session id", "visitor id", "anonymous id", "push token", "device token",
               "fcm token", "apns token"),
        # an IP address is not a postal one in any language
        "de": ("IP-Adresse",), "fr": ("adresse IP",), "es": ("dirección IP",), "it": ("indirizzo IP",),
        "nl": ("IP-adres",), "pl": ("adres IP",),
    },
    _K.DEMOGRAPHIC: {
        "en": ("gender", "gender identity", "pronouns", "sex", "nationality", "citizenship", "age",
               "age group", "age range", "age bracket", "marital status", "civil status",
               "family status"),
        "de": ("Geschlecht", "Staatsangehörigkeit", "Staatsangehoerigkeit", "Nationalität",
               "Familienstand", "Alter"),
        "fr": ("sexe", "nationalité", "situation familiale", "situation matrimoniale", "état civil"),
        "es": ("sexo", "género", "nacionalidad", "estado civil", "edad"),
        "it": ("sesso", "nazionalità", "cittadinanza", "stato civile"),
        "nl": ("geslacht", "nationaliteit", "burgerlijke staat", "leeftijd"),
        "pl": ("płeć", "obywatelstwo", "narodowość", "stan cywilny", "wiek"),
    },
}

# Names that contain a term but hold no personal data; each silences the matches inside it.
NOT_PERSONAL: tuple[str, ...] = (
    # pagination and bookkeeping, not credentials
    "page token", "next page token", "prev page token", "previous page token", "pagination token",
    "continuation token", "sync token", "next token", "token count", "token usage",
    "public key", "password age", "token age",
    # services, certificates and files
    "health check", "health checks", "healthcheck", "health probe", "health endpoint", "health url",
    "service health", "system health", "cluster health", "node health", "health score",
    "key fingerprint", "certificate fingerprint", "cert fingerprint", "tls fingerprint",
    "ssh fingerprint", "sha256 fingerprint", "sha1 fingerprint", "md5 fingerprint",
    "server address", "bind address", "listen address", "host address", "network address",
    "contract address", "zip file", "zip archive", "iphone",
    # the age of things, not of people
    "max age", "min age", "cache age", "message age", "account age", "file age", "data age",
    "age rating", "race condition", "race conditions",
    # Polish "dni" are days
    "liczba dni", "ilosc dni", "dni robocze",
)

# A word after the match makes the name about the datum, not the datum: `email_verified`.
ABOUT_AFTER = frozenset({
    "type", "types", "kind", "category", "count", "counts", "length", "len", "size", "min", "max",
    "minimum", "maximum", "limit", "limits", "range", "format", "pattern", "regex", "mask", "status",
    "verified", "verification", "confirmed", "confirmation", "validated", "validation", "valid",
    "enabled", "disabled", "required", "optional", "allowed", "set", "exists", "present", "policy",
    "policies", "strength", "rules", "at", "time", "timestamp", "expires", "expiry", "expiration",
    "expire", "expired", "ttl", "lifetime", "changed", "updated", "created", "modified", "issued",
    "revoked", "rotated", "rotation", "used", "sent", "id", "ids", "uuid", "ref", "reference", "arn",
    "name", "label", "placeholder", "field", "fields", "column", "description", "url", "uri", "link",
    "endpoint", "header", "param", "parameter", "alg", "algorithm", "algorithms", "method", "methods",
    "supported", "scheme", "mode", "version", "prefix", "suffix", "attempts", "tries", "retries",
    "failures", "error", "errors", "subject", "body", "template", "templates", "settings",
    "preferences", "preference", "notifications", "notification", "frequency", "provider", "server",
    "host", "port", "channel", "scope", "scopes", "permissions", "store", "manager", "backend",
    "currency", "rounds", "opt", "optin", "consent", "visibility", "visible", "hidden", "flag",
    "check", "checks", "amount", "allowlist", "whitelist", "blocklist", "blacklist", "ranges", "cidr",
    "restriction", "restrictions",
})
# A word before it does too: `has_password`, `max_age`.
ABOUT_BEFORE = frozenset({
    "is", "has", "have", "max", "min", "maximum", "minimum", "num", "allow", "allows", "require",
    "requires", "enable", "show", "hide", "use",
})
# Linking words a field name often drops: `fecha_nacimiento` for "fecha de nacimiento".
LINKING = frozenset({
    "of", "de", "d", "du", "des", "la", "le", "el", "del", "di", "della", "e", "et", "y", "i", "o",
    "het", "van", "von",
})
# fmt: on
