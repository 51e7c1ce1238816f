-- Block requests from the web (lost phone, core/lost_phone.py) counted per phone number, under a
-- keyed digest of the number: the attempt limit on the check, shared by every process.
CREATE TABLE block_requests (
    digest TEXT PRIMARY KEY,
    expires_at REAL NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX block_requests_expiry ON block_requests (expires_at);
