-- CSAM digital keys: the final shape of SQLite's 0003_csam and 0008_csam_appointment_files.
-- Records are JSON documents (codec.dumps); values that are searched are columns. Times are epoch
-- seconds like SQLite's REAL. `seq` stands in for SQLite's rowid where the store promises
-- insertion order ("oldest first"); an upsert keeps it, as SQLite keeps the rowid.
--
-- Case-insensitive usernames: SQLite's COLLATE NOCASE folds ASCII letters only. lower() under the
-- "C" collation does exactly that whatever the cluster's locale, so both engines agree on which
-- usernames are the same (usernames are ASCII anyway: csam/passwords.py _USERNAME).
CREATE TABLE csam_offices (office_id text PRIMARY KEY, doc text NOT NULL);

CREATE TABLE csam_staff (username text NOT NULL, doc text NOT NULL);
CREATE UNIQUE INDEX csam_staff_username ON csam_staff (lower(username COLLATE "C"));

CREATE TABLE csam_registrations (
    registration_id text PRIMARY KEY,
    link_digest text NOT NULL CONSTRAINT csam_registrations_link UNIQUE,
    national_number text NOT NULL,
    doc text NOT NULL,
    seq bigint GENERATED ALWAYS AS IDENTITY
);
CREATE INDEX csam_registrations_person ON csam_registrations (national_number, seq);

CREATE TABLE csam_accounts (
    account_id text PRIMARY KEY,
    national_number text NOT NULL CONSTRAINT csam_accounts_person UNIQUE,
    username text NOT NULL,
    email text NOT NULL,
    doc text NOT NULL,
    seq bigint GENERATED ALWAYS AS IDENTITY
);
CREATE UNIQUE INDEX csam_accounts_username ON csam_accounts (lower(username COLLATE "C"));
CREATE INDEX csam_accounts_email ON csam_accounts (email, seq);

CREATE TABLE csam_keys (
    key_id text PRIMARY KEY,
    account_id text NOT NULL REFERENCES csam_accounts (account_id),
    target text NOT NULL,
    doc text NOT NULL,
    seq bigint GENERATED ALWAYS AS IDENTITY
);
CREATE INDEX csam_keys_account ON csam_keys (account_id, seq);
CREATE INDEX csam_keys_target ON csam_keys (target, seq);

CREATE TABLE csam_appointments (
    appointment_id text PRIMARY KEY,
    link_digest text NOT NULL CONSTRAINT csam_appointments_link UNIQUE,
    status text NOT NULL,
    doc text NOT NULL,
    seq bigint GENERATED ALWAYS AS IDENTITY
);
CREATE INDEX csam_appointments_status ON csam_appointments (status, seq);

-- The identity document files of video-interview appointments (recto and verso), kept apart
-- from the appointment's document; no foreign key, as on SQLite.
CREATE TABLE csam_appointment_files (
    file_id text PRIMARY KEY,
    appointment_id text NOT NULL,
    media_type text NOT NULL,
    filename text NOT NULL,
    data bytea NOT NULL,
    created_at double precision NOT NULL
);
CREATE INDEX csam_appointment_files_appointment ON csam_appointment_files (appointment_id);

CREATE TABLE csam_logins (
    login_id text PRIMARY KEY,
    expires_at double precision NOT NULL,
    doc text NOT NULL
);

CREATE TABLE csam_sessions (
    session_digest text PRIMARY KEY,
    expires_at double precision NOT NULL,
    doc text NOT NULL
);
