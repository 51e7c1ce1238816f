"""The `otp` command group driven through `python -m authenticator`'s `main(argv, clock=...)`."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp
import pytest

from authenticator import cli, cli_input
from authenticator.__main__ import main
from authenticator.migration import to_migration_uris
from authenticator.qr import read_uris, to_png_bytes
from authenticator.uri import OtpAccount, parse_uri, to_uri
from authenticator.vault import Vault
from identity_server.core.clock import ManualClock

from .conftest import FAST_KDF_N, LONG_SECRET, SECRET

PASSWORD = "s3cret vault"
CSAM = OtpAccount("totp", LONG_SECRET, "alice@example.be", "CSAM")
CSAM_URI = to_uri(CSAM)
START = datetime(2026, 1, 5, 9, 0, 7, tzinfo=UTC)


@pytest.fixture
def vault_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "data" / "authenticator.vault"
    monkeypatch.setenv("SLEUTEL_VAULT", str(path))
    monkeypatch.setenv("SLEUTEL_VAULT_PASSWORD", PASSWORD)
    monkeypatch.setattr(cli_input, "KDF_N", FAST_KDF_N)
    return path


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


def run(
    capsys: pytest.CaptureFixture[str], *argv: str, clock: ManualClock | None = None
) -> tuple[int, str, str]:
    status = main(["otp", *argv], clock=clock)
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return status, out, err


def test_add_from_uri_then_list(vault_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "add", CSAM_URI)[:2] == (0, "added CSAM:alice@example.be\n")
    assert vault_path.stat().st_mode & 0o777 == 0o600
    assert run(capsys, "add", to_uri(OtpAccount("totp", SECRET, "bob")), "--name", "Bob")[0] == 0
    status, out, _ = run(capsys, "list")
    assert status == 0
    assert out.splitlines() == [
        "CSAM:alice@example.be\ttotp\tSHA1\t6 digits",
        "Bob\ttotp\tSHA1\t6 digits",
    ]


def test_add_from_png(vault_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    image = tmp_path / "csam.png"
    image.write_bytes(to_png_bytes(CSAM_URI))
    assert run(capsys, "add", str(image))[:2] == (0, "added CSAM:alice@example.be\n")
    assert Vault.open(vault_path, PASSWORD).get("CSAM:alice@example.be") == CSAM


def test_code_matches_pyotp(
    vault_path: Path, clock: ManualClock, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "add", CSAM_URI)
    reference = pyotp.TOTP(LONG_SECRET)
    status, out, _ = run(capsys, "code", "CSAM:alice@example.be", clock=clock)
    assert status == 0
    assert out == f"{reference.at(START)}  (23s left)\n"
    assert (
        run(capsys, "code", "-q", "CSAM:alice@example.be", clock=clock)[1]
        == f"{reference.at(START)}\n"
    )
    later = START + timedelta(seconds=30)
    assert run(capsys, "code", "--next", "CSAM:alice@example.be", clock=clock)[1] == (
        f"{reference.at(later)}  (next, valid in 23s)\n"
    )
    clock.advance(30)
    assert (
        run(capsys, "code", "-q", "CSAM:alice@example.be", clock=clock)[1]
        == f"{reference.at(later)}\n"
    )


def test_hotp_code_advances_counter(vault_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "add", to_uri(OtpAccount("hotp", LONG_SECRET, "h", counter=4)))
    reference = pyotp.HOTP(LONG_SECRET)
    assert run(capsys, "code", "h")[1] == f"{reference.at(4)}  (counter 4)\n"
    assert run(capsys, "code", "h")[1] == f"{reference.at(5)}  (counter 5)\n"
    assert Vault.open(vault_path, PASSWORD).get("h").counter == 6
    assert run(capsys, "code", "--next", "h")[0] == 2


def test_add_migration_uri_adds_all(vault_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bob = OtpAccount("hotp", SECRET, "bob", "Bank", counter=1)
    (uri,) = to_migration_uris([CSAM, bob])
    status, out, _ = run(capsys, "add", uri)
    assert status == 0
    assert out.splitlines() == ["added CSAM:alice@example.be", "added Bank:bob"]


def test_remove_and_rename(vault_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "add", CSAM_URI)
    assert run(capsys, "rename", "CSAM:alice@example.be", "work")[:2] == (
        0,
        "renamed CSAM:alice@example.be -> work\n",
    )
    assert run(capsys, "remove", "work")[:2] == (0, "removed work\n")
    assert run(capsys, "list")[1] == ""
    status, _, err = run(capsys, "remove", "work")
    assert (status, err) == (2, "error: account_not_found: no account named 'work'\n")


def test_export_warns_on_stderr(vault_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "add", CSAM_URI)
    status, out, err = run(capsys, "export")
    assert status == 0
    assert out == CSAM_URI + "\n"
    assert "plain text" in err and LONG_SECRET not in err
    status, out, err = run(capsys, "export", "--format", "migration")
    assert "plain text" in err
    assert out.startswith("otpauth-migration://offline?data=")
    status, out, err = run(capsys, "export", "--format", "qr")
    assert status == 0 and "plain text" in err
    assert out.startswith("CSAM:alice@example.be\n") and "█" in out


def test_qr_command(vault_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "add", CSAM_URI)
    status, out, _ = run(capsys, "qr", "CSAM:alice@example.be")
    assert status == 0 and set(out) <= set("▀▄█ \n") and len(out.splitlines()) > 10
    png = tmp_path / "out.png"
    assert run(capsys, "qr", "CSAM:alice@example.be", "--png", str(png))[0] == 0
    assert read_uris(png) == [CSAM_URI]


def test_import_text_file(
    vault_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    listing = tmp_path / "uris.txt"
    other = OtpAccount("totp", SECRET, "x", "Y", digits=8)
    listing.write_text(f"# exported\n{CSAM_URI}\n\n{to_uri(other)}\n{CSAM_URI}\n")
    status, out, err = run(capsys, "import", str(listing))
    assert status == 0
    assert out.splitlines()[-1] == "imported 2, skipped 1 duplicate(s), refused 0"
    assert "already in the vault" in err
    assert Vault.open(vault_path, PASSWORD).get("Y:x") == other


def test_import_refused_md5_is_reported(
    vault_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from .test_migration import FIXED_URI

    status, out, err = run(capsys, "import", FIXED_URI)
    assert status == 0
    assert "imported 2, skipped 0 duplicate(s), refused 1" in out
    assert "warning: Old:legacy refused: unsupported_algorithm" in err


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["add", "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&digits=7"], "error: bad_digits: "),
        (["add", "/nonexistent/file.png"], "error: bad_source: "),
        (["code", "ghost"], "error: account_not_found: "),
    ],
)
def test_errors_are_one_line(
    vault_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], expected: str
) -> None:
    run(capsys, "add", CSAM_URI)
    status, _, err = run(capsys, *argv)
    assert status == 2
    assert err.startswith(expected) and err.count("\n") == 1


def test_malformed_first_add_creates_no_vault(
    vault_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = run(capsys, "add", "otpauth://hotp/x?secret=JBSWY3DPEHPK3PXP")
    assert (status, err) == (2, "error: missing_counter: an hotp URI needs a counter parameter\n")
    assert not vault_path.exists()


def test_duplicate_add_is_an_error(vault_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "add", CSAM_URI)
    status, _, err = run(capsys, "add", CSAM_URI)
    assert status == 2 and err.startswith("error: duplicate_account: ")


def test_image_without_code(
    vault_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = tmp_path / "other.png"
    image.write_bytes(to_png_bytes("https://example.org"))
    status, _, err = run(capsys, "add", str(image))
    assert status == 2 and err.startswith("error: no_qr_code: ")


def test_wrong_password_and_missing_vault(
    vault_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = run(capsys, "list")
    assert status == 2 and err.startswith("error: vault_missing: ")
    assert not vault_path.exists()
    run(capsys, "add", CSAM_URI)
    before = vault_path.read_bytes()
    monkeypatch.setenv("SLEUTEL_VAULT_PASSWORD", "nope")
    status, _, err = run(capsys, "list")
    assert (status, err) == (2, "error: wrong_password: wrong vault password\n")
    assert vault_path.read_bytes() == before


def test_prompted_password_and_vault_option(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SLEUTEL_VAULT_PASSWORD", raising=False)
    monkeypatch.delenv("SLEUTEL_VAULT", raising=False)
    monkeypatch.setattr(cli_input, "KDF_N", FAST_KDF_N)
    prompts: list[str] = []

    def fake_getpass(prompt: str) -> str:
        prompts.append(prompt)
        return "typed"

    monkeypatch.setattr(cli_input, "prompt_password", fake_getpass)
    path = tmp_path / "explicit.vault"
    assert main(["otp", "--vault", str(path), "add", CSAM_URI]) == 0
    assert "created vault" in capsys.readouterr().err
    assert Vault.open(path, "typed").get("CSAM:alice@example.be") == CSAM
    assert prompts == ["Vault password: "]  # stdin is not a tty under pytest: no confirmation


def test_default_vault_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cli_input.default_vault_path() == tmp_path / ".local/share/sleutel/authenticator.vault"
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert cli_input.default_vault_path() == tmp_path / "xdg/sleutel/authenticator.vault"


def test_mounts_into_a_host_parser() -> None:
    parser = argparse.ArgumentParser(prog="sleutel")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve")
    cli.add_subparsers(sub)
    args = parser.parse_args(["otp", "--vault", "/x", "code", "NAME", "--next"])
    assert args.func is cli.run
    assert (args.vault, args.otp_command, args.name, args.next) == ("/x", "code", "NAME", True)
    assert parse_uri(CSAM_URI) == CSAM


def test_python_dash_m_entry_point(vault_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "authenticator", "otp", "list"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
        check=False,
    )
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.startswith("error: vault_missing: no vault at ")
