"""The video interview's e-mails (nl, fr, en: the languages the interview is held in), by
event: subject and body, with {slot}, {link} and the like filled in by the interview."""

from __future__ import annotations

MAILS: dict[str, dict[str, tuple[str, str]]] = {
    "proposed": {
        "nl": (
            "CSAM – Uw video-interview: voorstel van tijdslot",
            "Wij stellen u dit tijdslot voor: {slot}.\n\nBevestig, wijzig of annuleer uw afspraak"
            " met deze link en uw persoonlijke beveiligingscode. Laad er ook een geldig"
            " identiteitsbewijs op (Europese identiteitskaart of internationaal paspoort):\n{link}",
        ),
        "fr": (
            "CSAM – Votre interview vidéo : proposition de créneau",
            "Nous vous proposons ce créneau : {slot}.\n\nConfirmez, modifiez ou annulez votre"
            " rendez-vous avec ce lien et votre code de sécurité personnel. Chargez-y aussi une"
            " pièce d'identité valable (carte d'identité européenne ou passeport) :\n{link}",
        ),
        "en": (
            "CSAM – Your video interview: proposed time slot",
            "We propose this time slot: {slot}.\n\nConfirm, change or cancel your appointment"
            " with this link and your personal security code. Also upload a valid identity"
            " document (European identity card or international passport):\n{link}",
        ),
    },
    "confirmed": {
        "nl": (
            "CSAM – Uw video-interview is bevestigd",
            "Het tijdslot {slot} is nu definitief voor u gereserveerd.\n"
            "Start het video-interview met deze link:\n{room}",
        ),
        "fr": (
            "CSAM – Votre interview vidéo est confirmée",
            "Le créneau {slot} vous est maintenant réservé.\n"
            "Démarrez l'interview vidéo avec ce lien :\n{room}",
        ),
        "en": (
            "CSAM – Your video interview is confirmed",
            "The time slot {slot} is now reserved for you.\n"
            "Start the video interview with this link:\n{room}",
        ),
    },
    "reminder": {
        "nl": (
            "CSAM – Herinnering: uw video-interview {when}",
            "Uw video-interview begint op {slot}. Hou uw identiteitsbewijs bij de hand.\n"
            "Start het interview met deze link:\n{room}",
        ),
        "fr": (
            "CSAM – Rappel : votre interview vidéo {when}",
            "Votre interview vidéo commence le {slot}. Gardez votre pièce d'identité à portée"
            " de main.\nDémarrez l'interview avec ce lien :\n{room}",
        ),
        "en": (
            "CSAM – Reminder: your video interview {when}",
            "Your video interview starts at {slot}. Keep your identity document at hand.\n"
            "Start the interview with this link:\n{room}",
        ),
    },
    "new_document": {
        "nl": (
            "CSAM – Laad een nieuw identiteitsbewijs op",
            "Het opgeladen document voldoet niet: {note}\n"
            "Laad een nieuw document op met deze link en uw persoonlijke beveiligingscode:\n{link}",
        ),
        "fr": (
            "CSAM – Chargez une nouvelle pièce d'identité",
            "Le document chargé ne convient pas : {note}\n"
            "Chargez un nouveau document avec ce lien et votre code de sécurité personnel :\n{link}",
        ),
        "en": (
            "CSAM – Upload a new identity document",
            "The uploaded document is not sufficient: {note}\n"
            "Upload a new document with this link and your personal security code:\n{link}",
        ),
    },
    "refused": {
        "nl": (
            "CSAM – Uw aanvraag van een digitale sleutel",
            "Wij kunnen u geen digitale sleutel geven. Reden: {note}",
        ),
        "fr": (
            "CSAM – Votre demande de clé numérique",
            "Nous ne pouvons pas vous délivrer de clé numérique. Motif : {note}",
        ),
        "en": (
            "CSAM – Your request for a digital key",
            "We cannot give you a digital key. Reason: {note}",
        ),
    },
    "cancelled_by_interviewer": {
        "nl": (
            "CSAM – Uw afspraak is geannuleerd",
            "De interviewer heeft uw afspraak van {slot} geannuleerd. Reden: {note}\n"
            "Maak een nieuwe afspraak met deze link:\n{again}",
        ),
        "fr": (
            "CSAM – Votre rendez-vous est annulé",
            "L'intervieweur a annulé votre rendez-vous du {slot}. Motif : {note}\n"
            "Prenez un nouveau rendez-vous avec ce lien :\n{again}",
        ),
        "en": (
            "CSAM – Your appointment is cancelled",
            "The interviewer cancelled your appointment of {slot}. Reason: {note}\n"
            "Make a new appointment with this link:\n{again}",
        ),
    },
    "cancelled": {
        "nl": (
            "CSAM – Uw afspraak is geannuleerd",
            "Uw afspraak voor een video-interview is geannuleerd.",
        ),
        "fr": (
            "CSAM – Votre rendez-vous est annulé",
            "Votre rendez-vous pour une interview vidéo est annulé.",
        ),
        "en": (
            "CSAM – Your appointment is cancelled",
            "Your video interview appointment is cancelled.",
        ),
    },
}
