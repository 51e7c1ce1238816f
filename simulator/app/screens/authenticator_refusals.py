"""The authenticator's refusals for people, in the phone's language.

The authenticator package (also a command-line tool) words its refusals in English for
developers; a person using the phone reads them from the phone catalog, by the refusal's stable
code (authenticator/errors.py). The catalog keys are named here so that Babel's extraction keeps
them; a test checks that every code the package raises has one.
"""

from __future__ import annotations

from identity_server.i18n import N_

GENERAL = N_("authenticator.authenticator_error")
REFUSALS: dict[str, str] = {
    "wrong_password": N_("authenticator.wrong_password"),
    "vault_locked": N_("authenticator.vault_locked"),
    "empty_password": N_("authenticator.empty_password"),
    "vault_tampered": N_("authenticator.vault_tampered"),
    "vault_unreadable": N_("authenticator.vault_unreadable"),
    "vault_exists": N_("authenticator.vault_exists"),
    "vault_missing": N_("authenticator.vault_missing"),
    "no_qr_code": N_("authenticator.no_qr_code"),
    "unreadable_image": N_("authenticator.unreadable_image"),
    "bad_name": N_("authenticator.bad_name"),
    "duplicate_name": N_("authenticator.duplicate_name"),
    "duplicate_account": N_("authenticator.duplicate_account"),
    "account_not_found": N_("authenticator.account_not_found"),
    "invalid_uri": N_("authenticator.invalid_uri"),
    "not_otpauth": N_("authenticator.not_otpauth"),
    "bad_type": N_("authenticator.bad_type"),
    "duplicate_parameter": N_("authenticator.duplicate_parameter"),
    "bad_label": N_("authenticator.bad_label"),
    "missing_secret": N_("authenticator.missing_secret"),
    "invalid_secret": N_("authenticator.invalid_secret"),
    "issuer_mismatch": N_("authenticator.issuer_mismatch"),
    "bad_algorithm": N_("authenticator.bad_algorithm"),
    "unsupported_algorithm": N_("authenticator.unsupported_algorithm"),
    "bad_digits": N_("authenticator.bad_digits"),
    "bad_period": N_("authenticator.bad_period"),
    "unsupported_period": N_("authenticator.unsupported_period"),
    "bad_counter": N_("authenticator.bad_counter"),
    "missing_counter": N_("authenticator.missing_counter"),
    "invalid_migration": N_("authenticator.invalid_migration"),
    "not_migration": N_("authenticator.not_migration"),
    "missing_data": N_("authenticator.missing_data"),
    "bad_payload": N_("authenticator.bad_payload"),
    "wrong_kind": N_("authenticator.wrong_kind"),
    "not_totp": N_("authenticator.not_totp"),
    "not_hotp": N_("authenticator.not_hotp"),
}


def refusal_key(code: str) -> str:
    """The catalog key for a refusal code; a code without its own text gets the general one."""
    return REFUSALS.get(code, GENERAL)
