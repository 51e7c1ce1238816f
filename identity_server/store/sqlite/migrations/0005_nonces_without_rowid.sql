-- A nonce is written once per signed phone request and only ever looked up by its key: kept in
-- the key's own B-tree (no separate rowid table), each insert writes one page instead of two.
CREATE TABLE nonces_by_key (
    scope TEXT NOT NULL,
    nonce TEXT NOT NULL,
    expires_at REAL NOT NULL,
    PRIMARY KEY (scope, nonce)
) WITHOUT ROWID;
INSERT INTO nonces_by_key (scope, nonce, expires_at) SELECT scope, nonce, expires_at FROM nonces;
DROP TABLE nonces;
ALTER TABLE nonces_by_key RENAME TO nonces;
