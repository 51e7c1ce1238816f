"""The video interview's e-mails, by event: subject and body (texts in the `messages` catalog,
`video.<event>.subject|body`), with {slot}, {link} and the like filled in by the interview."""

from __future__ import annotations

from identity_server.i18n import N_, text

# Each event's subject and body keys, written out so that extraction finds them.
MAILS: dict[str, tuple[str, str]] = {
    "proposed": (N_("video.proposed.subject"), N_("video.proposed.body")),
    "confirmed": (N_("video.confirmed.subject"), N_("video.confirmed.body")),
    "reminder": (N_("video.reminder.subject"), N_("video.reminder.body")),
    "new_document": (N_("video.new_document.subject"), N_("video.new_document.body")),
    "refused": (N_("video.refused.subject"), N_("video.refused.body")),
    "cancelled_by_interviewer": (
        N_("video.cancelled_by_interviewer.subject"),
        N_("video.cancelled_by_interviewer.body"),
    ),
    "cancelled": (N_("video.cancelled.subject"), N_("video.cancelled.body")),
}


def mail(event: str, language: str) -> tuple[str, str]:
    """The subject and body of the event's e-mail in `language`, placeholders still in."""
    subject, body = MAILS[event]
    return text("messages", language, subject), text("messages", language, body)
