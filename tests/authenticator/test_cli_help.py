"""`sleutel otp --help` documents the environment the authenticator reads (#14 item 8), and
what it says holds: with SLEUTEL_VAULT_PASSWORD set, nothing asks for a password."""

from __future__ import annotations

from pathlib import Path

import pytest

from authenticator import cli_input
from identity_server.cli import main

from .conftest import FAST_KDF_N, SECRET


def _help(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit) as done:
        main([*argv, "--help"])
    assert done.value.code == 0
    return capsys.readouterr().out


def test_otp_help_names_the_vault_password_variable(capsys: pytest.CaptureFixture[str]) -> None:
    shown = _help(capsys, "otp")
    assert "usage: sleutel otp" in shown
    environment = shown[shown.index("environment:") :]
    assert "SLEUTEL_VAULT_PASSWORD  the vault's password, read instead of asking for it" in (
        environment
    )
    assert "SLEUTEL_VAULT " in environment
    assert "~/.local/share/sleutel/authenticator.vault" in environment


def test_the_password_variable_does_what_the_help_says(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def no_prompt(prompt: str) -> str:
        raise AssertionError(f"asked for a password: {prompt}")

    monkeypatch.setattr(cli_input, "prompt_password", no_prompt)
    monkeypatch.setattr(cli_input, "KDF_N", FAST_KDF_N)
    monkeypatch.setenv("SLEUTEL_VAULT", str(tmp_path / "v.vault"))
    monkeypatch.setenv("SLEUTEL_VAULT_PASSWORD", "from the environment")
    uri = f"otpauth://totp/CSAM:annelies?secret={SECRET}&issuer=CSAM"
    assert main(["otp", "add", uri]) == 0
    assert main(["otp", "list"]) == 0
    assert "CSAM:annelies" in capsys.readouterr().out
    monkeypatch.setenv("SLEUTEL_VAULT_PASSWORD", "another one")
    assert main(["otp", "list"]) != 0
