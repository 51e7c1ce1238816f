-- Wrong passwords given with usernames no account has, shared by every process, under a keyed
-- digest of the name (as SQLite's 0010).
CREATE TABLE csam_unknown_usernames (
    digest text COLLATE "C" PRIMARY KEY,
    expires_at double precision NOT NULL,
    doc text NOT NULL
);
CREATE INDEX csam_unknown_usernames_expiry ON csam_unknown_usernames (expires_at);
