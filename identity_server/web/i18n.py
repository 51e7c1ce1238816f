"""The page's language (`?lang=`, then the cookie, then Dutch) and the pages' error texts.

The pages' own texts are the `pages` catalog (identity_server/locale/*/LC_MESSAGES/pages.po),
read in templates as `{{ _("key") }}`."""

from __future__ import annotations

from aiohttp import web

from identity_server.i18n import DEFAULT, LANGUAGES, supported

__all__ = ["DEFAULT", "LANGUAGES", "error_text", "language_of"]

# Refusals people meet on the pages, by stable code; other codes show the English message.
ERRORS: dict[str, dict[str, str]] = {
    "nl": {
        "invalid_phone_number": "Dit is geen geldig gsm-nummer.",
        "not_a_mobile_number": "Dit is geen gsm-nummer: geef een mobiel nummer in.",
        "invalid_email": "Dit is geen geldig e-mailadres.",
        "consent_required": "Vink de vakjes aan om verder te gaan.",
        "wrong_card_pin": "Verkeerde pincode.",
        "card_blocked": "Deze kaart is geblokkeerd. Deblokkeer ze met de PUK-code.",
        "card_expired": "Deze kaart is vervallen.",
        "number_in_use": "Dit gsm-nummer is al aan een andere identiteit gekoppeld.",
        "enrolment_expired": "Deze registratie is verlopen. Begin opnieuw.",
        "unknown_enrolment": "Deze registratie bestaat niet.",
        "wrong_step": "Deze stap kan nu niet.",
    },
    "fr": {
        "invalid_phone_number": "Ce numéro de GSM n'est pas valable.",
        "not_a_mobile_number": "Ce n'est pas un numéro de GSM : indiquez un numéro mobile.",
        "invalid_email": "Cette adresse e-mail n'est pas valable.",
        "consent_required": "Cochez les cases pour continuer.",
        "wrong_card_pin": "Code PIN erroné.",
        "card_blocked": "Cette carte est bloquée. Débloquez-la avec le code PUK.",
        "card_expired": "Cette carte est expirée.",
        "number_in_use": "Ce numéro est déjà lié à une autre identité.",
        "enrolment_expired": "Cette inscription a expiré. Recommencez.",
        "unknown_enrolment": "Cette inscription n'existe pas.",
        "wrong_step": "Cette étape n'est pas possible maintenant.",
    },
    "en": {},
    "de": {
        "invalid_phone_number": "Dies ist keine gültige Handynummer.",
        "not_a_mobile_number": "Dies ist keine Handynummer: geben Sie eine Mobilnummer ein.",
        "invalid_email": "Dies ist keine gültige E-Mail-Adresse.",
        "consent_required": "Kreuzen Sie die Kästchen an, um fortzufahren.",
        "wrong_card_pin": "Falsche PIN.",
        "card_blocked": "Diese Karte ist gesperrt. Entsperren Sie sie mit der PUK.",
        "card_expired": "Diese Karte ist abgelaufen.",
        "number_in_use": "Diese Nummer ist bereits mit einer anderen Identität verknüpft.",
        "enrolment_expired": "Diese Registrierung ist abgelaufen. Beginnen Sie neu.",
        "unknown_enrolment": "Diese Registrierung existiert nicht.",
        "wrong_step": "Dieser Schritt ist jetzt nicht möglich.",
    },
}


def language_of(request: web.Request) -> str:
    """?lang= wins, then the cookie, then Dutch (an unknown language is no error)."""
    return supported(request.query.get("lang")) or supported(request.cookies.get("lang")) or DEFAULT


def error_text(language: str, code: str, fallback: str) -> str:
    return ERRORS.get(language, {}).get(code, fallback)
