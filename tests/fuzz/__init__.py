"""The fuzz suite (marker `fuzz`; `pytest -m "not fuzz"` leaves it out of a quick local run, CI
runs it). One real `sleutel serve` per session (conftest.server), driven by the API document it
serves, so a new or newly declared route is fuzzed without editing the suite:

- test_schemathesis: schemathesis over every operation of `GET /api/openapi.json` (valid and
  invalid queries, JSON and form bodies, headers), admin token supplied, device routes signed,
  path parameters filled with ids the server handed out; JSON answers, statuses, media types
  and documented headers must be what the document says.
- test_malformed: what schemathesis does not send, on every route (pages and undeclared routes
  too): broken encodings and multipart framing, odd charsets, deep or huge JSON, odd values in
  every declared field, odd path parameters, queries and headers; as the demo staff too.
- test_live_socket: the WebSocket routes (`x-websocket`): odd upgrades, RFC 6455 violations,
  garbage and random frames on a signed connection.

Every answer: no 5xx, a stable code on every 4xx (JSON `error`, or a page's Sleutel-Error
header), no unhandled exception in the server log. The closing summary line counts the requests
and the 5xx answers. Bounds and seeds: budget.py."""
