-- itsme's CIBA with QR user discovery, and the hosted login page's QR (oidc/user_discovery.py).
-- A session is found by its id (the client's polls) or by the keyed digest of a token it handed
-- out: a QR token (the current one or one it replaced) or its user_identifier_token.
CREATE TABLE discovery_sessions (
    session_id TEXT PRIMARY KEY,
    expires_at REAL NOT NULL,
    doc TEXT NOT NULL
);
CREATE TABLE discovery_keys (
    digest TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    expires_at REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX discovery_sessions_expiry ON discovery_sessions (expires_at);
CREATE INDEX discovery_keys_expiry ON discovery_keys (expires_at);
