-- CSAM digital keys. Records are JSON documents; keys that are searched are columns.
CREATE TABLE csam_offices (office_id TEXT PRIMARY KEY, doc TEXT NOT NULL);

CREATE TABLE csam_staff (
    username TEXT PRIMARY KEY COLLATE NOCASE,
    doc TEXT NOT NULL
);

CREATE TABLE csam_registrations (
    registration_id TEXT PRIMARY KEY,
    link_digest TEXT NOT NULL UNIQUE,
    national_number TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX csam_registrations_person ON csam_registrations (national_number);

CREATE TABLE csam_accounts (
    account_id TEXT PRIMARY KEY,
    national_number TEXT NOT NULL UNIQUE,
    username TEXT NOT NULL UNIQUE COLLATE NOCASE,
    email TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX csam_accounts_email ON csam_accounts (email);

CREATE TABLE csam_keys (
    key_id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES csam_accounts (account_id),
    target TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX csam_keys_account ON csam_keys (account_id);
CREATE INDEX csam_keys_target ON csam_keys (target);

CREATE TABLE csam_appointments (
    appointment_id TEXT PRIMARY KEY,
    link_digest TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX csam_appointments_status ON csam_appointments (status);

CREATE TABLE csam_logins (
    login_id TEXT PRIMARY KEY,
    expires_at REAL NOT NULL,
    doc TEXT NOT NULL
);

CREATE TABLE csam_sessions (
    session_digest TEXT PRIMARY KEY,
    expires_at REAL NOT NULL,
    doc TEXT NOT NULL
)
