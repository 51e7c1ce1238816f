-- OpenID Connect provider and push-confirm login: relying parties, signing keys, requests, codes, tokens.
CREATE TABLE clients (client_id TEXT PRIMARY KEY, doc TEXT NOT NULL);

CREATE TABLE signing_keys (kid TEXT PRIMARY KEY, created_at REAL NOT NULL, doc TEXT NOT NULL);

CREATE TABLE push_requests (
    request_id TEXT PRIMARY KEY,
    identity_id TEXT NOT NULL,
    status TEXT NOT NULL,
    expires_at REAL NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX push_requests_identity ON push_requests (identity_id, status);

CREATE TABLE authorizations (auth_id TEXT PRIMARY KEY, expires_at REAL NOT NULL, doc TEXT NOT NULL);

CREATE TABLE ciba_requests (auth_req_id TEXT PRIMARY KEY, expires_at REAL NOT NULL, doc TEXT NOT NULL);

CREATE TABLE grants (digest TEXT PRIMARY KEY, kind TEXT NOT NULL, expires_at REAL NOT NULL, doc TEXT NOT NULL);

CREATE TABLE browsers (
    browser_digest TEXT NOT NULL,
    identity_id TEXT NOT NULL,
    last_used REAL NOT NULL,
    PRIMARY KEY (browser_digest, identity_id)
);
