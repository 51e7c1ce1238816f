"""How much fuzzing one run does: bounded so the whole suite stays within about two minutes of
CI on two cores, and reproducible (the same examples every run)."""

from __future__ import annotations

from hypothesis import HealthCheck, Phase, settings

# Schemathesis: examples per operation and phase (about 2,000 requests over the document).
SCHEMATHESIS_EXAMPLES = 12
SCHEMATHESIS_SEED = 20_240_610

# Hypothesis variations in the raw fuzz: each example sends one request to every route. No
# shrinking (a finding is reported with its input as sent), no example database.
FUZZ_SETTINGS = settings(
    max_examples=6,
    derandomize=True,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
# WebSocket frames: one frame per example on one connection.
FRAME_SETTINGS = settings(FUZZ_SETTINGS, max_examples=60)
