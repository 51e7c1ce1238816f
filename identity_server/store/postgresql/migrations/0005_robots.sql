-- Robot phones of the QA kit (as SQLite's 0011): one per phone number, one per identity. The
-- document holds the sealed device key and itsme code.
CREATE TABLE sandbox_robots (
    phone text COLLATE "C" PRIMARY KEY,
    identity_id text COLLATE "C" NOT NULL UNIQUE,
    doc text NOT NULL
);
