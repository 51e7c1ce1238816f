-- Wrong passwords given with usernames no account has, shared by every process (they were
-- counted in each process's memory), under a keyed digest of the name.
CREATE TABLE csam_unknown_usernames (
    digest TEXT PRIMARY KEY,
    expires_at REAL NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX csam_unknown_usernames_expiry ON csam_unknown_usernames (expires_at);
