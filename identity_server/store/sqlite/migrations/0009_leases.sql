-- Background work (the CIBA expiry sweep, the purge, CSAM reminders) is done by whichever
-- process holds its lease; another takes over when the holder stops renewing it.
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at REAL NOT NULL
);
