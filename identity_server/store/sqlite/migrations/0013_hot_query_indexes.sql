-- Every hot query on an index (issue #15): the outbox filtered by channel alone (newest first),
-- and the CIBA expiry sweep, which reads every few seconds the requests whose deadline fell
-- since its last run: a range of this index, not the whole table (as PostgreSQL's 0002).
CREATE INDEX messages_channel ON messages (channel, message_id);
CREATE INDEX ciba_requests_expiry ON ciba_requests (expires_at);
