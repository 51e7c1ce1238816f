-- sleutel schema, version 1. Records are JSON documents; keys that are searched are columns.
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

CREATE TABLE people (
    national_number TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX people_email ON people (email);

CREATE TABLE cards (
    card_number TEXT PRIMARY KEY,
    national_number TEXT NOT NULL REFERENCES people (national_number),
    doc TEXT NOT NULL
);
CREATE INDEX cards_person ON cards (national_number);

CREATE TABLE banks (bank_id TEXT PRIMARY KEY, doc TEXT NOT NULL);

CREATE TABLE bank_customers (
    bank_id TEXT NOT NULL REFERENCES banks (bank_id),
    customer_number TEXT NOT NULL,
    national_number TEXT NOT NULL REFERENCES people (national_number),
    digipass_serial TEXT NOT NULL UNIQUE,
    doc TEXT NOT NULL,
    PRIMARY KEY (bank_id, customer_number)
);

CREATE TABLE identities (
    identity_id TEXT PRIMARY KEY,
    national_number TEXT NOT NULL UNIQUE REFERENCES people (national_number),
    phone TEXT NOT NULL UNIQUE,
    doc TEXT NOT NULL
);

CREATE TABLE devices (
    device_id TEXT PRIMARY KEY,
    identity_id TEXT NOT NULL REFERENCES identities (identity_id),
    doc TEXT NOT NULL
);
CREATE INDEX devices_identity ON devices (identity_id);

CREATE TABLE onboardings (
    onboarding_id TEXT PRIMARY KEY,
    expires_at REAL NOT NULL,
    doc TEXT NOT NULL
);

CREATE TABLE enrolments (
    enrolment_id TEXT PRIMARY KEY,
    token_digest TEXT,
    expires_at REAL NOT NULL,
    doc TEXT NOT NULL
);
CREATE UNIQUE INDEX enrolments_token ON enrolments (token_digest) WHERE token_digest IS NOT NULL;

CREATE TABLE messages (
    message_id INTEGER PRIMARY KEY AUTOINCREMENT,
    channel TEXT NOT NULL,
    recipient TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX messages_recipient ON messages (recipient, message_id);

CREATE TABLE nonces (
    scope TEXT NOT NULL,
    nonce TEXT NOT NULL,
    expires_at REAL NOT NULL,
    PRIMARY KEY (scope, nonce)
);
