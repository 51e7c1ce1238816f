"""Shared fixtures for the authenticator tests: a fixed instant and cheap vault key derivation."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

# Low scrypt cost keeps every vault test in milliseconds; production uses 2**15.
FAST_KDF_N = 2**10
SECRET = "JBSWY3DPEHPK3PXP"  # 80 bits, like many real services issue
LONG_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # 160 bits, what pyotp itself accepts


@pytest.fixture
def now() -> datetime:
    return datetime(2026, 1, 5, 9, 0, 7, tzinfo=UTC)
