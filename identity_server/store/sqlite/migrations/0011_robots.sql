-- Robot phones of the QA kit (identity_server/sandbox/robots.py): one per phone number, one per
-- identity. The document holds the sealed device key and itsme code.
CREATE TABLE sandbox_robots (
    phone TEXT PRIMARY KEY,
    identity_id TEXT NOT NULL UNIQUE,
    doc TEXT NOT NULL
);
