-- An identity's waiting requests are found by (identity, status, expiry): counting or listing the
-- ones still open reads only those, however many expired unanswered requests are kept.
DROP INDEX push_requests_identity;
CREATE INDEX push_requests_identity ON push_requests (identity_id, status, expires_at);
