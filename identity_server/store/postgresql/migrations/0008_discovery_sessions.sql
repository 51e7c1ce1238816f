-- itsme's CIBA with QR user discovery, and the hosted login page's QR (oidc/user_discovery.py).
-- A session is found by its id (the client's polls) or by the keyed digest of a token it handed
-- out: a QR token (the current one or one it replaced) or its user_identifier_token.
CREATE TABLE discovery_sessions (
    session_id text PRIMARY KEY,
    expires_at double precision NOT NULL,
    doc text NOT NULL
);
CREATE TABLE discovery_keys (
    digest text PRIMARY KEY,
    session_id text NOT NULL,
    expires_at double precision NOT NULL
);
CREATE INDEX discovery_sessions_expiry ON discovery_sessions (expires_at);
CREATE INDEX discovery_keys_expiry ON discovery_keys (expires_at);
