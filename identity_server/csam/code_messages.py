"""The e-mails and SMS that carry registration and login codes, in the person's language (the
national register's: nl, fr, en or de). An SMS never carries a link."""

from __future__ import annotations

from dataclasses import dataclass

from identity_server.store.core import Store


@dataclass(frozen=True)
class CodeTexts:
    subject: str
    mail: str  # {code}
    sms: str  # {code}


REGISTRATION = {
    "nl": CodeTexts(
        "CSAM – Mijn digitale sleutels: registratiecode",
        "Uw registratiecode is {code}.\n"
        "Deze code is slechts 5 minuten geldig: gebruik hem meteen.\n"
        "Geef deze code aan niemand door.\n\n"
        "CSAM – Mijn digitale sleutels",
        "CSAM: uw registratiecode is {code}. 5 minuten geldig. Geef deze code aan niemand door.",
    ),
    "fr": CodeTexts(
        "CSAM – Mes clés numériques : code d'enregistrement",
        "Votre code d'enregistrement est {code}.\n"
        "Ce code n'est valable que 5 minutes : utilisez-le tout de suite.\n"
        "Ne communiquez ce code à personne.\n\n"
        "CSAM – Mes clés numériques",
        "CSAM : votre code d'enregistrement est {code}. Valable 5 minutes. Ne le communiquez à"
        " personne.",
    ),
    "en": CodeTexts(
        "CSAM – My digital keys: registration code",
        "Your registration code is {code}.\n"
        "This code is valid for 5 minutes only: use it right away.\n"
        "Never give this code to anyone.\n\n"
        "CSAM – My digital keys",
        "CSAM: your registration code is {code}. Valid 5 minutes. Never give it to anyone.",
    ),
    "de": CodeTexts(
        "CSAM – Meine digitalen Schlüssel: Registrierungscode",
        "Ihr Registrierungscode lautet {code}.\n"
        "Dieser Code ist nur 5 Minuten gültig: Verwenden Sie ihn sofort.\n"
        "Geben Sie diesen Code niemandem weiter.\n\n"
        "CSAM – Meine digitalen Schlüssel",
        "CSAM: Ihr Registrierungscode lautet {code}. 5 Minuten gültig. Geben Sie ihn niemandem"
        " weiter.",
    ),
}

LOGIN = {
    "nl": CodeTexts(
        "CSAM – Uw beveiligingscode",
        "Uw beveiligingscode om aan te melden is {code}.\n"
        "Deze code is 10 minuten geldig. Geef deze code aan niemand door.\n\n"
        "CSAM – Mijn digitale sleutels",
        "CSAM: uw beveiligingscode is {code}. 10 minuten geldig. Geef deze code aan niemand door.",
    ),
    "fr": CodeTexts(
        "CSAM – Votre code de sécurité",
        "Votre code de sécurité pour vous connecter est {code}.\n"
        "Ce code est valable 10 minutes. Ne le communiquez à personne.\n\n"
        "CSAM – Mes clés numériques",
        "CSAM : votre code de sécurité est {code}. Valable 10 minutes. Ne le communiquez à"
        " personne.",
    ),
    "en": CodeTexts(
        "CSAM – Your security code",
        "Your security code to log in is {code}.\n"
        "This code is valid for 10 minutes. Never give it to anyone.\n\n"
        "CSAM – My digital keys",
        "CSAM: your security code is {code}. Valid 10 minutes. Never give it to anyone.",
    ),
    "de": CodeTexts(
        "CSAM – Ihr Sicherheitscode",
        "Ihr Sicherheitscode für die Anmeldung lautet {code}.\n"
        "Dieser Code ist 10 Minuten gültig. Geben Sie ihn niemandem weiter.\n\n"
        "CSAM – Meine digitalen Schlüssel",
        "CSAM: Ihr Sicherheitscode lautet {code}. 10 Minuten gültig. Geben Sie ihn niemandem"
        " weiter.",
    ),
}

# A forgotten username or password (issue 16 §4): a code to the key the person has, no link.
RECOVERY = {
    "nl": CodeTexts(
        "CSAM – Gebruikersnaam of wachtwoord vergeten",
        "Uw code om uw gebruikersnaam te zien en een nieuw wachtwoord te kiezen is {code}.\n"
        "Deze code is 10 minuten geldig. Geef deze code aan niemand door.\n"
        "Vroeg u dit niet aan? Dan kunt u dit bericht negeren: er verandert niets.\n\n"
        "CSAM – Mijn digitale sleutels",
        "CSAM: uw code voor een vergeten wachtwoord is {code}. 10 minuten geldig. Geef deze code"
        " aan niemand door.",
    ),
    "fr": CodeTexts(
        "CSAM – Nom d'utilisateur ou mot de passe oublié",
        "Votre code pour voir votre nom d'utilisateur et choisir un nouveau mot de passe est"
        " {code}.\n"
        "Ce code est valable 10 minutes. Ne le communiquez à personne.\n"
        "Vous n'avez rien demandé ? Ignorez ce message : rien ne change.\n\n"
        "CSAM – Mes clés numériques",
        "CSAM : votre code pour un mot de passe oublié est {code}. Valable 10 minutes. Ne le"
        " communiquez à personne.",
    ),
    "en": CodeTexts(
        "CSAM – Forgotten username or password",
        "Your code to see your username and choose a new password is {code}.\n"
        "This code is valid for 10 minutes. Never give it to anyone.\n"
        "Did you not ask for this? Then ignore this message: nothing changes.\n\n"
        "CSAM – My digital keys",
        "CSAM: your code for a forgotten password is {code}. Valid 10 minutes. Never give it to"
        " anyone.",
    ),
    "de": CodeTexts(
        "CSAM – Benutzername oder Passwort vergessen",
        "Ihr Code, um Ihren Benutzernamen zu sehen und ein neues Passwort zu wählen, lautet"
        " {code}.\n"
        "Dieser Code ist 10 Minuten gültig. Geben Sie ihn niemandem weiter.\n"
        "Haben Sie das nicht angefragt? Dann ignorieren Sie diese Nachricht: Es ändert sich"
        " nichts.\n\n"
        "CSAM – Meine digitalen Schlüssel",
        "CSAM: Ihr Code für ein vergessenes Passwort lautet {code}. 10 Minuten gültig. Geben Sie"
        " ihn niemandem weiter.",
    ),
}


async def for_account(store: Store, texts: dict[str, CodeTexts], national_number: str) -> CodeTexts:
    """In the person's language from the register; Dutch when unknown."""
    person = await store.get_person(national_number)
    return texts.get(person.language if person else "nl", texts["nl"])
