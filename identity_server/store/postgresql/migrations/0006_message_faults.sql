-- The sandbox's faults (identity_server/sandbox/faults.py) may drop or delay a message: when it
-- reaches its recipient, as a Unix time, NULL for a dropped one (as SQLite's 0012). Messages
-- sent before had no faults: they arrived when they were sent.
ALTER TABLE messages ADD COLUMN deliver_at double precision;
UPDATE messages SET deliver_at = extract(epoch FROM (doc::json ->> 'created_at')::timestamptz);
