-- Every hot query on an index (issue #15): the outbox filtered by channel alone, newest first
-- (as SQLite's 0013).
CREATE INDEX messages_channel ON messages (channel, message_id);
