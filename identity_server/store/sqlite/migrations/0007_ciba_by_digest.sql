-- An auth_req_id is a bearer secret: requests are now kept under its keyed digest, as tokens are.
-- Rows written before were keyed by the plain value and cannot be re-keyed here (the digest's key
-- lives outside the database), so they go: a poll for one then gets invalid_grant. They lived at
-- most ten minutes (and a day of history); the requests still waiting for them in phones are
-- closed as expired, and no request keeps the plain value in its origin. secure_delete zeroes the
-- space the old values took, for the length of this migration.
PRAGMA secure_delete = ON;
DELETE FROM ciba_requests;
ALTER TABLE ciba_requests RENAME COLUMN auth_req_id TO digest;
UPDATE push_requests SET status = 'expired', doc = json_set(doc, '$.status', 'expired')
    WHERE status = 'pending' AND json_extract(doc, '$.origin') LIKE 'ciba:%';
UPDATE push_requests SET doc = json_set(doc, '$.origin', 'ciba:')
    WHERE json_extract(doc, '$.origin') LIKE 'ciba:%';
PRAGMA secure_delete = OFF
