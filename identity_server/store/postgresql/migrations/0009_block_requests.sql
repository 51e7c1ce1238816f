-- Block requests from the web (lost phone, core/lost_phone.py) counted per phone number, under a
-- keyed digest of the number (as SQLite's 0015).
CREATE TABLE block_requests (
    digest text COLLATE "C" PRIMARY KEY,
    expires_at double precision NOT NULL,
    doc text NOT NULL
);
CREATE INDEX block_requests_expiry ON block_requests (expires_at);
