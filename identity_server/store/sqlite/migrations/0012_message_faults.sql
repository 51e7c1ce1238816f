-- The sandbox's faults (identity_server/sandbox/faults.py) may drop or delay a message: when it
-- reaches its recipient, as a Unix time, NULL for a dropped one (the outbox API lists only what
-- arrived by the sandbox's now). Messages sent before had no faults: they arrived when they
-- were sent (to the millisecond below, so never later than that).
ALTER TABLE messages ADD COLUMN deliver_at REAL;
UPDATE messages SET deliver_at =
    CAST(strftime('%s', json_extract(doc, '$.created_at')) AS REAL)
    + (CAST(strftime('%f', json_extract(doc, '$.created_at')) AS REAL)
       - CAST(strftime('%S', json_extract(doc, '$.created_at')) AS INTEGER));
