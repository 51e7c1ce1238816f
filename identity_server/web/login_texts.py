"""The hosted login's texts, per language (the phone page, the wait page and their errors)."""

from __future__ import annotations

TEXTS = {
    "nl": {
        "login.title": "Aanmelden met je telefoon",
        "login.intro": "{client} vraagt je om je aan te melden. Geef je gsm-nummer in.",
        "login.country": "Kies je land",
        "login.search": "Zoeken",
        "login.send": "Verstuur",
        "login.qr": "Of scan deze QR-code met je itsme-app.",
        "wait.title": "Bewijs dat jij het bent",
        "wait.intro": "Een melding wacht in je itsme-app op je telefoonnummer {phone}.",
        "wait.icon": "Tik op de kaart en kies dit icoon om verder te gaan.",
        "wait.confirm": "Tik op de kaart en bevestig in je app.",
        "wait.waiting": "Wachten op je telefoon…",
        "wait.continue": "Verder",
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
        "login.title": "Se connecter avec votre téléphone",
        "login.intro": "{client} vous demande de vous connecter. Introduisez votre numéro de GSM.",
        "login.country": "Choisissez votre pays",
        "login.search": "Rechercher",
        "login.send": "Envoyer",
        "login.qr": "Ou scannez ce code QR avec votre app itsme.",
        "wait.title": "Prouvez que c'est vous",
        "wait.intro": "Une notification vous attend dans votre app itsme sur le numéro {phone}.",
        "wait.icon": "Touchez la carte et choisissez cette icône pour continuer.",
        "wait.confirm": "Touchez la carte et confirmez dans votre app.",
        "wait.waiting": "En attente de votre téléphone…",
        "wait.continue": "Continuer",
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
        "login.title": "Log in with your phone",
        "login.intro": "{client} asks you to log in. Enter your mobile number.",
        "login.country": "Choose your country",
        "login.search": "Search",
        "login.send": "Send",
        "login.qr": "Or scan this QR code with your itsme app.",
        "wait.title": "Prove it's you",
        "wait.intro": "A notification is waiting in your itsme app on your phone number {phone}.",
        "wait.icon": "Tap the card and choose this icon to continue.",
        "wait.confirm": "Tap the card and confirm in your app.",
        "wait.waiting": "Waiting for your phone…",
        "wait.continue": "Continue",
        "error.unknown_user": "There is no itsme account for this number.",
        "error.too_many_pending_requests": (
            "Too many requests are already waiting in your itsme app. "
            "Answer them or try again in a few minutes."
        ),
    },
    "de": {
        "login.title": "Mit Ihrem Telefon anmelden",
        "login.intro": "{client} bittet Sie, sich anzumelden. Geben Sie Ihre Handynummer ein.",
        "login.country": "Wählen Sie Ihr Land",
        "login.search": "Suchen",
        "login.send": "Senden",
        "login.qr": "Oder scannen Sie diesen QR-Code mit Ihrer itsme-App.",
        "wait.title": "Beweisen Sie, dass Sie es sind",
        "wait.intro": "Eine Mitteilung wartet in Ihrer itsme-App auf der Nummer {phone}.",
        "wait.icon": "Tippen Sie auf die Karte und wählen Sie dieses Symbol.",
        "wait.confirm": "Tippen Sie auf die Karte und bestätigen Sie in Ihrer App.",
        "wait.waiting": "Warten auf Ihr Telefon…",
        "wait.continue": "Weiter",
        "error.unknown_user": "Für diese Nummer gibt es kein itsme-Konto.",
        "error.identity_blocked": "Diese Identität ist gesperrt.",
        "error.too_many_pending_requests": (
            "In Ihrer itsme-App warten bereits zu viele Anfragen. "
            "Beantworten Sie sie oder versuchen Sie es in einigen Minuten erneut."
        ),
        "error.authorization_expired": "Diese Anmeldung ist abgelaufen. Gehen Sie zurück zur Website.",
    },
}
