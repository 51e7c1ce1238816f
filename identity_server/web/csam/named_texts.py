"""The CSAM texts a template names by a value (`_("c.key." + key.kind)`), written out once so
that Babel's extraction finds their keys; a test holds each list to the values the code uses."""

from __future__ import annotations

from identity_server.i18n import N_

NAMED: dict[str, tuple[str, ...]] = {
    # a key as the person knows it from the key choice (levels.KeyKind)
    "c.key.": (
        N_("c.key.email"),
        N_("c.key.sms"),
        N_("c.key.totp"),
        N_("c.key.password"),
    ),
    # a key's state on "My digital keys" (records.KeyStatus, and a key past its end date)
    "c.status.": (
        N_("c.status.pending"),
        N_("c.status.active"),
        N_("c.status.removed"),
        N_("c.status.deactivated"),
        N_("c.status.expired"),
    ),
    # a video appointment's state (records.AppointmentStatus)
    "c.appt.": (
        N_("c.appt.requested"),
        N_("c.appt.proposed"),
        N_("c.appt.accepted"),
        N_("c.appt.document_requested"),
        N_("c.appt.approved"),
        N_("c.appt.refused"),
        N_("c.appt.cancelled"),
        N_("c.appt.blocked"),
    ),
    # identity documents, at the desk (registration) and in the video interview
    "c.doc.": (
        N_("c.doc.eid"),
        N_("c.doc.passport"),
        N_("c.doc.residence_card"),
        N_("c.doc.eu_id_card"),
    ),
    # the languages a video interview is held in (video_interview.LANGUAGES), and the preferred
    # language of the key choice (identity_server.i18n.LANGUAGES)
    "c.lang.": (N_("c.lang.nl"), N_("c.lang.fr"), N_("c.lang.en"), N_("c.lang.de")),
    # the activation's steps (csam/steps.html)
    "c.step.": (N_("c.step.code"), N_("c.step.choose"), N_("c.step.activate")),
    # where a login code or a registration code was sent
    "c.login.code.": (N_("c.login.code.email"), N_("c.login.code.sms"), N_("c.login.code.totp")),
    "c.registration.intro.": (N_("c.registration.intro.email"), N_("c.registration.intro.sms")),
    "c.forgot.sent.": (N_("c.forgot.sent.email"), N_("c.forgot.sent.sms")),
}
