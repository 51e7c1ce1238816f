"""The `sleutel` register commands work on the database directly and refuse bad input clearly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import stdnum.be.nn

from identity_server.cli import main


def _run(capsys: pytest.CaptureFixture[str], db: Path, *argv: str) -> tuple[int, str, str]:
    code = main(["--db", str(db), *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_first_use_seeds_the_sandbox_and_lists_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "s.sqlite3"
    code, out, _ = _run(capsys, db, "people", "list")
    assert code == 0
    names = {p["last_name"] for p in json.loads(out)}
    assert {"Dewilde", "Marchal", "Peeters", "Wagner", "de Vries", "O'Connor"} == names
    assert (db.with_name(db.name + ".key")).stat().st_mode & 0o777 == 0o600


def test_add_person_issue_card_and_add_customer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "s.sqlite3"
    code, out, _ = _run(
        capsys,
        db,
        "people",
        "add",
        "--first-names",
        "Lotte",
        "--last-name",
        "Janssens",
        "--birth-date",
        "2001-04-09",
        "--birth-place",
        "Leuven",
        "--sex",
        "F",
        "--street",
        "Bondgenotenlaan 1",
        "--postal-code",
        "3000",
        "--municipality",
        "Leuven",
        "--email",
        "lotte@example.be",
    )
    assert code == 0
    nn = json.loads(out)["national_number"]
    assert stdnum.be.nn.is_valid(nn)
    code, out, _ = _run(capsys, db, "cards", "issue", nn, "--pin", "2468")
    card = json.loads(out)
    assert card["pin"] == "2468" and len(card["puk"]) == 12
    code, out, _ = _run(capsys, db, "customers", "add", "sleutelbank", nn)
    assert json.loads(out)["national_number"] == nn
    code, out, _ = _run(capsys, db, "cards", "list")
    assert nn in {c["national_number"] for c in json.loads(out)}


def test_errors_are_one_line_with_a_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "s.sqlite3"
    code, _, err = _run(capsys, db, "cards", "issue", "00000000000")
    assert code == 2
    assert err.startswith("error: unknown_person:")
    code, _, err = _run(capsys, db, "customers", "add", "nobank", "00000000000")
    assert (code, err.split(":")[1].strip()) == (2, "unknown_bank")
    code, _, err = _run(
        capsys,
        db,
        "people",
        "add",
        "--first-names",
        "X",
        "--last-name",
        "Y",
        "--birth-date",
        "1/2/3",
        "--birth-place",
        "Z",
        "--sex",
        "M",
        "--street",
        "S",
        "--postal-code",
        "1",
        "--municipality",
        "M",
        "--email",
        "x@example.be",
    )
    assert code == 2 and "invalid_field" in err


def test_admin_token_is_stable_for_a_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "s.sqlite3"
    _, first, _ = _run(capsys, db, "admin-token")
    _, second, _ = _run(capsys, db, "admin-token")
    assert first == second and len(first.strip()) == 64


def test_serve_refuses_a_pending_limit_below_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["--db", str(tmp_path / "s.sqlite3"), "serve", "--max-pending", "0"])
    assert stopped.value.code == 2
    assert "--max-pending: give a whole number of 1 or more" in capsys.readouterr().err
