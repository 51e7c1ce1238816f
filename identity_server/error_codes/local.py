"""Refusals no server answer carries, declared here so their texts stay in the errors catalog
(scripts/i18n extracts these keys with the registry's): the terminal phone's, the authenticator
app's and the demo website's own (a network failure, a vault that will not open, an ID token the
demo site refuses and why, a provider's OAuth error such as `server_error` shown by the demo site).
They have no HTTP status of their own, so they are not `ErrorCode`s."""

from __future__ import annotations

from identity_server.i18n import N_

LOCAL_REFUSALS: tuple[str, ...] = (
    N_("error.bad_name"),
    N_("error.ciba_not_supported"),
    N_("error.csrf"),
    N_("error.discovery_failed"),
    N_("error.duplicate_account"),
    N_("error.duplicate_name"),
    N_("error.empty_password"),
    N_("error.generic"),
    N_("error.internal"),
    N_("error.invalid_confirmation"),
    N_("error.invalid_id_token"),
    N_("error.invalid_migration"),
    N_("error.invalid_phone"),
    N_("error.invalid_secret"),
    N_("error.invalid_uri"),
    N_("error.login_required"),
    N_("error.missing_code"),
    N_("error.missing_id_token"),
    N_("error.missing_user_code"),
    N_("error.network"),
    N_("error.no_onboarding"),
    N_("error.no_qr_code"),
    N_("error.not_activated"),
    N_("error.provider_unavailable"),
    N_("error.server_error"),
    N_("error.state_mismatch"),
    N_("error.temporarily_unavailable"),
    N_("error.transaction_failed"),
    N_("error.unknown"),
    N_("error.unknown_level"),
    N_("error.unreadable_image"),
    N_("error.userinfo_subject_mismatch"),
    N_("error.vault_tampered"),
    N_("error.vault_unreadable"),
    N_("error.wrong_issuer"),
    N_("error.wrong_password"),
)

# Why the demo website refused an ID token: `{reason}` of error.invalid_id_token.
ID_TOKEN_REASONS: tuple[str, ...] = (
    N_("reason.acr"),
    N_("reason.algorithm"),
    N_("reason.at_hash"),
    N_("reason.audience"),
    N_("reason.expired"),
    N_("reason.issued_at"),
    N_("reason.issuer"),
    N_("reason.malformed"),
    N_("reason.nonce"),
    N_("reason.other"),
    N_("reason.signature"),
    N_("reason.unknown_key"),
)
