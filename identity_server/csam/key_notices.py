"""The e-mails that tell a person a key change was made on their account (issue #16: password
changed, key added, key removed, all keys deactivated), in their language from the national
register (nl, fr, en or de; Dutch when unknown; texts in the `messages` catalog). They carry no
link: whoever did not make the change is told to call the helpdesk, not to click."""

from __future__ import annotations

from dataclasses import dataclass

from identity_server.csam import preferences
from identity_server.csam.context import CsamContext
from identity_server.csam.levels import KeyKind
from identity_server.csam.records import Account
from identity_server.i18n import N_, text


@dataclass(frozen=True)
class Notice:
    """A notice's subject and body: catalog keys, or the texts in one language."""

    subject: str
    body: str  # {username}, {key}

    def in_language(self, language: str) -> Notice:
        return Notice(
            text("messages", language, self.subject), text("messages", language, self.body)
        )


PASSWORD_CHANGED = Notice(N_("notice.password_changed.subject"), N_("notice.password_changed.body"))
KEY_ADDED = Notice(N_("notice.key_added.subject"), N_("notice.key_added.body"))
KEY_REMOVED = Notice(N_("notice.key_removed.subject"), N_("notice.key_removed.body"))
ALL_DEACTIVATED = Notice(N_("notice.all_deactivated.subject"), N_("notice.all_deactivated.body"))

# The keys as the person knows them from the key choice.
KEY_NAMES: dict[KeyKind, str] = {
    KeyKind.EMAIL: N_("notice.key.email"),
    KeyKind.SMS: N_("notice.key.sms"),
    KeyKind.TOTP: N_("notice.key.totp"),
    KeyKind.PASSWORD: N_("notice.key.password"),
}


async def send(
    ctx: CsamContext, account: Account, notice: Notice, kind: KeyKind | None = None
) -> None:
    """E-mail the notice to the account's address, in the person's language (their preferred one,
    chosen on the key choice, else the register's)."""
    lang = await preferences.message_language(ctx, account)
    told = notice.in_language(lang)
    key = text("messages", lang, KEY_NAMES[kind]) if kind is not None else ""
    body = told.body.format(username=account.username, key=key)
    not_you = text("messages", lang, "notice.not_you")
    signature = text("messages", lang, "notice.signature")
    await ctx.outbox.send_email(account.email, told.subject, f"{body}\n\n{not_you}\n\n{signature}")
