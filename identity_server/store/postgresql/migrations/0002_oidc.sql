-- OpenID Connect provider and push-confirm login: relying parties, signing keys, requests, codes,
-- tokens, known browsers. The shape SQLite's migrations 0002, 0006 and 0007 give these tables
-- together. Records are JSON documents (`doc`); searched values are columns; times are epoch
-- seconds. No foreign keys, as on SQLite: an identity's requests outlive nothing they point to.

-- Listed in byte order, as SQLite lists them, whatever the database's locale.
CREATE TABLE clients (client_id text COLLATE "C" PRIMARY KEY, doc text NOT NULL);

CREATE TABLE signing_keys (
    kid text COLLATE "C" PRIMARY KEY,
    created_at double precision NOT NULL,
    doc text NOT NULL
);

-- `seq` is the insertion order SQLite's rowid gives (an upsert keeps it): pending requests are
-- listed oldest first.
CREATE TABLE push_requests (
    request_id text PRIMARY KEY,
    seq bigint GENERATED ALWAYS AS IDENTITY,
    identity_id text NOT NULL,
    status text NOT NULL,
    expires_at double precision NOT NULL,
    doc text NOT NULL
);
-- An identity's waiting requests are found by (identity, status, expiry): counting or listing the
-- ones still open reads only those, however many expired unanswered requests are kept.
CREATE INDEX push_requests_identity ON push_requests (identity_id, status, expires_at);

CREATE TABLE authorizations (
    auth_id text PRIMARY KEY,
    expires_at double precision NOT NULL,
    doc text NOT NULL
);

-- Kept under the keyed digest of the auth_req_id (a bearer secret), as tokens are.
CREATE TABLE ciba_requests (
    digest text PRIMARY KEY,
    seq bigint GENERATED ALWAYS AS IDENTITY,
    expires_at double precision NOT NULL,
    doc text NOT NULL
);
-- The expiry sweep reads the requests whose deadline fell since its last run, every few seconds
-- and from every process that may hold its lease: a range of this index, not the whole table.
CREATE INDEX ciba_requests_expiry ON ciba_requests (expires_at);

CREATE TABLE grants (
    digest text PRIMARY KEY,
    kind text NOT NULL,
    expires_at double precision NOT NULL,
    doc text NOT NULL
);

CREATE TABLE browsers (
    browser_digest text NOT NULL,
    identity_id text NOT NULL,
    last_used double precision NOT NULL,
    PRIMARY KEY (browser_digest, identity_id)
);
