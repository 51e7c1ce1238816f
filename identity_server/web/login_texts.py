"""The hosted login's refusals shown in place, per language (the phone page, the wait page).

The login pages' other texts are the `pages` catalog. These `error.<code>` texts stay here until
the error registry holds every surface's refusal texts."""

from __future__ import annotations

ERRORS = {
    "nl": {
        "error.unknown_user": "Er is geen itsme-account voor dit nummer.",
        "error.identity_blocked": "Deze identiteit is geblokkeerd.",
        "error.too_many_pending_requests": (
            "Er wachten al te veel aanvragen in je itsme-app. "
            "Beantwoord ze of probeer het over enkele minuten opnieuw."
        ),
        "error.authorization_expired": "Deze aanmelding is verlopen. Ga terug naar de website.",
        "error.invalid_redirect_uri": "Deze website is niet correct geregistreerd (redirect_uri).",
        "error.invalid_client": "Deze website is niet gekend (client_id).",
    },
    "fr": {
        "error.unknown_user": "Il n'y a pas de compte itsme pour ce numéro.",
        "error.identity_blocked": "Cette identité est bloquée.",
        "error.too_many_pending_requests": (
            "Trop de demandes attendent déjà dans votre app itsme. "
            "Répondez-y ou réessayez dans quelques minutes."
        ),
        "error.authorization_expired": "Cette connexion a expiré. Retournez sur le site.",
        "error.invalid_redirect_uri": "Ce site n'est pas enregistré correctement (redirect_uri).",
        "error.invalid_client": "Ce site est inconnu (client_id).",
    },
    "en": {
        "error.unknown_user": "There is no itsme account for this number.",
        "error.too_many_pending_requests": (
            "Too many requests are already waiting in your itsme app. "
            "Answer them or try again in a few minutes."
        ),
    },
    "de": {
        "error.unknown_user": "Für diese Nummer gibt es kein itsme-Konto.",
        "error.identity_blocked": "Diese Identität ist gesperrt.",
        "error.too_many_pending_requests": (
            "In Ihrer itsme-App warten bereits zu viele Anfragen. "
            "Beantworten Sie sie oder versuchen Sie es in einigen Minuten erneut."
        ),
        "error.authorization_expired": "Diese Anmeldung ist abgelaufen. Gehen Sie zurück zur Website.",
    },
}
