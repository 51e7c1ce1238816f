"""The e-mails that tell a person a key change was made on their account (issue #16: password
changed, key added, key removed, all keys deactivated), in their language from the national
register (nl, fr, en or de; Dutch when unknown). They carry no link: whoever did not make the
change is told to call the helpdesk, not to click."""

from __future__ import annotations

from dataclasses import dataclass

from identity_server.csam.context import CsamContext
from identity_server.csam.levels import KeyKind
from identity_server.csam.records import Account


@dataclass(frozen=True)
class Notice:
    subject: str
    body: str  # {username}, {key}


_NOT_YOU = {
    "nl": "Was u dit niet? Bel dan meteen de CSAM-helpdesk en laat uw digitale sleutels"
    " deactiveren.",
    "fr": "Ce n'était pas vous ? Appelez tout de suite le helpdesk CSAM pour faire désactiver vos"
    " clés numériques.",
    "en": "Was this not you? Call the CSAM helpdesk right away to have your digital keys"
    " deactivated.",
    "de": "Waren Sie das nicht? Rufen Sie sofort den CSAM-Helpdesk an und lassen Sie Ihre"
    " digitalen Schlüssel deaktivieren.",
}
_SIGNATURE = {
    "nl": "CSAM – Mijn digitale sleutels",
    "fr": "CSAM – Mes clés numériques",
    "en": "CSAM – My digital keys",
    "de": "CSAM – Meine digitalen Schlüssel",
}

KEY_NAMES: dict[str, dict[KeyKind, str]] = {
    "nl": {
        KeyKind.EMAIL: "Beveiligingscode via e-mail",
        KeyKind.SMS: "Beveiligingscode via sms",
        KeyKind.TOTP: "Beveiligingscode via mobiele app",
        KeyKind.PASSWORD: "Gebruikersnaam en wachtwoord",
    },
    "fr": {
        KeyKind.EMAIL: "Code de sécurité par e-mail",
        KeyKind.SMS: "Code de sécurité par SMS",
        KeyKind.TOTP: "Code de sécurité via une application mobile",
        KeyKind.PASSWORD: "Nom d'utilisateur et mot de passe",
    },
    "en": {
        KeyKind.EMAIL: "Security code by e-mail",
        KeyKind.SMS: "Security code by SMS",
        KeyKind.TOTP: "Security code from a mobile app",
        KeyKind.PASSWORD: "Username and password",
    },
    "de": {
        KeyKind.EMAIL: "Sicherheitscode per E-Mail",
        KeyKind.SMS: "Sicherheitscode per SMS",
        KeyKind.TOTP: "Sicherheitscode über eine mobile App",
        KeyKind.PASSWORD: "Benutzername und Passwort",
    },
}

PASSWORD_CHANGED = {
    "nl": Notice(
        "CSAM – Uw wachtwoord werd gewijzigd",
        "Het wachtwoord van uw CSAM-account ({username}) werd zonet gewijzigd.",
    ),
    "fr": Notice(
        "CSAM – Votre mot de passe a été modifié",
        "Le mot de passe de votre compte CSAM ({username}) vient d'être modifié.",
    ),
    "en": Notice(
        "CSAM – Your password was changed",
        "The password of your CSAM account ({username}) was just changed.",
    ),
    "de": Notice(
        "CSAM – Ihr Passwort wurde geändert",
        "Das Passwort Ihres CSAM-Kontos ({username}) wurde soeben geändert.",
    ),
}

KEY_ADDED = {
    "nl": Notice(
        "CSAM – Nieuwe digitale sleutel geactiveerd",
        "Op uw CSAM-account ({username}) werd zonet een digitale sleutel geactiveerd: {key}.",
    ),
    "fr": Notice(
        "CSAM – Nouvelle clé numérique activée",
        "Une clé numérique vient d'être activée sur votre compte CSAM ({username}) : {key}.",
    ),
    "en": Notice(
        "CSAM – New digital key activated",
        "A digital key was just activated on your CSAM account ({username}): {key}.",
    ),
    "de": Notice(
        "CSAM – Neuer digitaler Schlüssel aktiviert",
        "Auf Ihrem CSAM-Konto ({username}) wurde soeben ein digitaler Schlüssel aktiviert: {key}.",
    ),
}

KEY_REMOVED = {
    "nl": Notice(
        "CSAM – Digitale sleutel verwijderd",
        "Van uw CSAM-account ({username}) werd zonet een digitale sleutel verwijderd: {key}.",
    ),
    "fr": Notice(
        "CSAM – Clé numérique supprimée",
        "Une clé numérique vient d'être supprimée de votre compte CSAM ({username}) : {key}.",
    ),
    "en": Notice(
        "CSAM – Digital key removed",
        "A digital key was just removed from your CSAM account ({username}): {key}.",
    ),
    "de": Notice(
        "CSAM – Digitaler Schlüssel entfernt",
        "Von Ihrem CSAM-Konto ({username}) wurde soeben ein digitaler Schlüssel entfernt: {key}.",
    ),
}

ALL_DEACTIVATED = {
    "nl": Notice(
        "CSAM – Al uw digitale sleutels werden gedeactiveerd",
        "Alle digitale sleutels van uw CSAM-account ({username}) werden zonet gedeactiveerd."
        " Om u opnieuw aan te melden, hebt u een nieuwe activatiecode nodig.",
    ),
    "fr": Notice(
        "CSAM – Toutes vos clés numériques ont été désactivées",
        "Toutes les clés numériques de votre compte CSAM ({username}) viennent d'être"
        " désactivées. Pour vous connecter à nouveau, il vous faut un nouveau code d'activation.",
    ),
    "en": Notice(
        "CSAM – All your digital keys were deactivated",
        "All digital keys of your CSAM account ({username}) were just deactivated."
        " To log in again, you need a new activation code.",
    ),
    "de": Notice(
        "CSAM – Alle Ihre digitalen Schlüssel wurden deaktiviert",
        "Alle digitalen Schlüssel Ihres CSAM-Kontos ({username}) wurden soeben deaktiviert."
        " Um sich wieder anzumelden, brauchen Sie einen neuen Aktivierungscode.",
    ),
}


async def send(
    ctx: CsamContext, account: Account, notices: dict[str, Notice], kind: KeyKind | None = None
) -> None:
    """E-mail the notice to the account's address, in the person's language."""
    person = await ctx.store.get_person(account.national_number)
    lang = person.language if person and person.language in notices else "nl"
    notice = notices[lang]
    key = KEY_NAMES[lang][kind] if kind is not None else ""
    body = notice.body.format(username=account.username, key=key)
    await ctx.outbox.send_email(
        account.email, notice.subject, f"{body}\n\n{_NOT_YOU[lang]}\n\n{_SIGNATURE[lang]}"
    )
