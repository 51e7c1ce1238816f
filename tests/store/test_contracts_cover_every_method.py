"""A method added to a store interface without a contract test fails here: each suite must call
every method of its interface (on both engines, through `engine_stores`)."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from identity_server.store.core import Store
from identity_server.store.csam import CsamStore
from identity_server.store.oidc import OidcStore
from identity_server.store.sandbox import SandboxStore
from identity_server.store.snapshots import Snapshots

HERE = Path(__file__).parent


@pytest.mark.parametrize(
    ("interface", "suite"),
    [
        (Store, "test_core_contract.py"),
        (OidcStore, "test_oidc_contract.py"),
        (CsamStore, "test_csam_contract.py"),
        (SandboxStore, "test_sandbox_contract.py"),
        (Snapshots, "test_snapshot_contract.py"),
    ],
)
def test_every_method_of_the_interface_is_called_by_its_contract_suite(
    interface: type, suite: str
) -> None:
    methods = {
        name
        for name, _ in inspect.getmembers(interface, inspect.isfunction)
        if not name.startswith("_")
    }
    if interface is Store:  # the unit of work it inherits is part of its contract
        assert {"atomic", "after_commit", "take_lease"} <= methods
    text = (HERE / suite).read_text("utf-8")
    called = set(re.findall(r"\.(\w+)\(", text))
    assert sorted(methods - called) == []
