"""The e-mails and SMS that carry registration and login codes, in the person's language (their
preferred one, else the national register's: csam/preferences.py; texts in the `messages`
catalog). An SMS never carries a link."""

from __future__ import annotations

from dataclasses import dataclass

from identity_server.i18n import N_, text


@dataclass(frozen=True)
class CodeTexts:
    """A code's e-mail subject, e-mail and SMS: catalog keys, or the texts in one language."""

    subject: str
    mail: str  # {code}
    sms: str  # {code}

    def in_language(self, language: str) -> CodeTexts:
        return CodeTexts(
            *(text("messages", language, key) for key in (self.subject, self.mail, self.sms))
        )


REGISTRATION = CodeTexts(
    N_("code.registration.subject"), N_("code.registration.mail"), N_("code.registration.sms")
)
LOGIN = CodeTexts(N_("code.login.subject"), N_("code.login.mail"), N_("code.login.sms"))
# A forgotten username or password (issue 16 §4): a code to the key the person has, no link.
RECOVERY = CodeTexts(N_("code.recovery.subject"), N_("code.recovery.mail"), N_("code.recovery.sms"))


def code_texts(texts: CodeTexts, language: str) -> CodeTexts:
    """`texts` (REGISTRATION, LOGIN, RECOVERY) in `language`: the account's preferred one."""
    return texts.in_language(language)
