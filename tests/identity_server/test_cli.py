"""The `sleutel` register commands work on the database directly and refuse bad input clearly."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import stdnum.be.nn

from identity_server.cli import _parser, main, sandbox_settings
from identity_server.runtime import shown_store
from identity_server.seed import PEOPLE, TEST_NUMBERS
from identity_server.settings import Settings

SEEDED_PEOPLE = len(PEOPLE) + len(TEST_NUMBERS)  # the demo people and the test numbers' robots


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
    assert {"Dewilde", "Marchal", "Peeters", "Wagner", "de Vries", "O'Connor"} | {
        number.last_name for number in TEST_NUMBERS
    } == names
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


def _leaf_parsers(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    children = [
        action.choices
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
    ]
    if not children:
        yield path, parser
    for choices in children:
        for name, child in choices.items():
            yield from _leaf_parsers(child, (*path, name))


def test_every_command_takes_db_before_or_after_itself() -> None:
    commands = [path for path, _ in _leaf_parsers(_parser()) if path[0] != "otp"]
    assert ("serve",) in commands and ("admin-token",) in commands and ("demo",) in commands
    assert len(commands) > 15
    for path, leaf in _leaf_parsers(_parser()):
        if path[0] != "otp":
            assert "--db" in leaf._option_string_actions, path
    parse = _parser().parse_args
    assert parse(["serve", "--db", "after.sqlite3"]).db == Path("after.sqlite3")
    assert parse(["--db", "before.sqlite3", "serve"]).db == Path("before.sqlite3")
    assert parse(["serve", "--port", "9000"]).db is None
    # The one nearest the command wins, as it reads.
    assert parse(["--db", "a", "people", "--db", "b", "list", "--db", "c"]).db == Path("c")
    assert parse(["--db", "a", "people", "list"]).db == Path("a")


def test_register_commands_take_db_after_the_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "after.sqlite3"
    assert main(["admin-token", "--db", str(db)]) == 0
    token = capsys.readouterr().out.strip()
    assert main(["people", "list", "--db", str(db)]) == 0
    assert len(json.loads(capsys.readouterr().out)) == SEEDED_PEOPLE
    assert main(["--db", str(db), "admin-token"]) == 0
    assert capsys.readouterr().out.strip() == token  # the same database both ways


@pytest.mark.parametrize("port", ["0", "65536", "²", "80a", "-1"])
def test_ports_are_checked_before_anything_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], port: str
) -> None:
    for command in (["serve"], ["demo"]):
        with pytest.raises(SystemExit) as stopped:
            main([*command, "--db", str(tmp_path / "s.sqlite3"), "--port", port])
        assert stopped.value.code == 2
        err = capsys.readouterr().err
        assert "argument --port: give a port number from 1 to 65535" in err, port
        assert not (tmp_path / "s.sqlite3").exists()


def _clients_file(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "clients.json"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, "utf-8")
    return path


BAD_CLIENT_FILES = [
    "number-for-scopes",
    "number-in-uris",
    "list-in-uris",
    "number-secret",
    "string-jwks",
    "string-uris",
    "lone-surrogate",
    "deep",
    "not-utf8",
    "broken",
    "object",
]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('[{"client_id": "abc", "name": "X", "scopes": 5}]', "got `int` - at `$[0].scopes`"),
        ('[{"client_id": "abc", "name": "X", "redirect_uris": [5]}]', "`$[0].redirect_uris[0]`"),
        (
            '[{"client_id": "abc", "name": "X", "redirect_uris": ["http://localhost/cb", [1]]}]',
            "got `array` - at `$[0].redirect_uris[1]`",
        ),
        ('[{"client_id": "abc", "name": "X", "secret": 5}]', "`$[0].secret`"),
        ('[{"client_id": "abc", "name": "X", "jwks": "x"}]', "`$[0].jwks`"),
        ('[{"client_id": "abc", "name": "X", "redirect_uris": "http://x"}]', "`array`, got `str`"),
        ('[{"client_id": "abc", "name": "\\ud800", "redirect_uris": []}]', "surrogate pair"),
        ("[" * 100_000, "maximum recursion depth"),
        (b"\xff\xfe[]", "malformed"),
        ("{bad", "malformed"),
        ("{}", "must hold a JSON list of objects"),
    ],
    ids=BAD_CLIENT_FILES,
)
def test_a_bad_clients_file_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | bytes, message: str
) -> None:
    path = _clients_file(tmp_path, content)
    code, out, err = _run(capsys, tmp_path / "s.sqlite3", "clients", "load", str(path))
    assert (code, out) == (2, "")
    assert err.startswith("error: invalid_clients_file: ") and err.count("\n") == 1
    assert message in err


def test_serve_with_a_missing_clients_file_stops_before_listening(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.json"
    code = main(["serve", "--db", str(tmp_path / "s.sqlite3"), "--clients", str(missing)])
    out, err = capsys.readouterr()
    assert code == 2 and "sleutel identity server on" not in out
    assert err == (
        f"error: invalid_clients_file: Cannot read clients file {missing}: [Errno 2] No such"
        f" file or directory: '{missing}'\n"
    )


def test_a_birth_date_the_register_cannot_number_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    person = ["people", "add", "--first-names", "X", "--last-name", "Y", "--birth-place", "Z",
              "--sex", "M", "--street", "S", "--postal-code", "1000", "--municipality", "M",
              "--email", "x@example.be"]  # fmt: skip
    for birth, expected in (
        ("1899-12-31", "error: invalid_birth_date: the birth date lies before 1900"),
        ("2999-01-01", "error: invalid_birth_date: the birth date lies in the future"),
        ("1990-02-30", "error: invalid_field: --birth-date must look like 1982-01-07"),
        ("१९९०-०१-०१", "error: invalid_field: --birth-date must look like 1982-01-07"),
    ):
        code, _, err = _run(capsys, tmp_path / "s.sqlite3", *person, "--birth-date", birth)
        assert (code, err) == (2, expected + "\n"), birth


def test_bad_national_and_card_numbers_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "s.sqlite3"
    for argv, expected in (
        (["cards", "issue", "²²²²²²²²²²²"], "unknown_person"),
        (["cards", "issue", "82010700262", "--pin", "١٢٣"], "invalid_card_pin"),
        (["cards", "unblock", "x", "--puk", "1", "--new-pin", "2"], "invalid_card_number"),
        (["customers", "add", "sleutelbank", "1"], "unknown_person"),
        (["clients", "remove", "nope"], "unknown_client"),
    ):
        code, _, err = _run(capsys, db, *argv)
        assert code == 2 and err.startswith(f"error: {expected}: "), (argv, err)
        assert err.count("\n") == 1


def test_an_unusable_database_or_key_file_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(capsys, tmp_path, "people", "list")
    assert (code, err) == (
        2,
        f"error: unusable_database: cannot open the database {tmp_path}:"
        " unable to open database file\n",
    )
    db = tmp_path / "s.sqlite3"
    db.with_name(db.name + ".key").mkdir()
    code, _, err = _run(capsys, db, "admin-token")
    assert (code, err) == (
        2,
        f"error: unusable_key_file: cannot read the key file {db}.key: Is a directory\n",
    )
    db.with_name(db.name + ".key").rmdir()
    db.with_name(db.name + ".key").write_bytes(b"short")
    code, _, err = _run(capsys, db, "admin-token")
    assert (code, err) == (
        2,
        f"error: corrupt_key_file: the key file {db}.key is damaged: it holds 5 bytes, a key is"
        " 32 to 4096 bytes\n",
    )


def test_the_default_data_folder_is_made_private(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SLEUTEL_DB", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    folder = tmp_path / "sleutel"
    folder.mkdir(mode=0o755)  # as an earlier version left it
    folder.chmod(0o755)
    assert main(["admin-token"]) == 0
    assert folder.stat().st_mode & 0o777 == 0o700
    assert (folder / "sleutel.sqlite3").stat().st_mode & 0o777 == 0o600


SANDBOX_OPTIONS = {"--store": "postgresql://db.test/sandbox", "--bus": "redis://bus.test:6379"}


def test_every_command_that_opens_the_sandbox_takes_store_bus_and_key_file_anywhere() -> None:
    for path, leaf in _leaf_parsers(_parser()):
        takes = path[0] not in ("otp", "demo", "phone")
        for option in ("--store", "--bus", "--key-file"):
            assert (option in leaf._option_string_actions) == takes, (path, option)
    parse = _parser().parse_args
    options = ["--store", SANDBOX_OPTIONS["--store"], "--bus", SANDBOX_OPTIONS["--bus"]]
    options += ["--key-file", "shared.key"]
    for command in (
        ["serve"],
        ["admin-token"],
        ["people", "list"],
        ["clients", "add", "rp", "--name", "RP"],
    ):
        for argv in ([*options, *command], [*command, *options]):
            args = parse(argv)
            assert (args.store, args.bus, args.key_file) == (
                SANDBOX_OPTIONS["--store"],
                SANDBOX_OPTIONS["--bus"],
                Path("shared.key"),
            ), argv
    assert (parse(["serve"]).store, parse(["serve"]).bus, parse(["serve"]).key_file) == (
        None,
        None,
        None,
    )
    assert parse(["--store", "postgresql://a/x", "serve", "--store", "postgresql://b/x"]).store == (
        "postgresql://b/x"
    )


def test_options_win_over_the_environment_which_wins_over_the_defaults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    parse = _parser().parse_args
    monkeypatch.setenv("SLEUTEL_DB", "/env/sandbox.sqlite3")
    monkeypatch.delenv("SLEUTEL_STORE", raising=False)
    monkeypatch.delenv("SLEUTEL_BUS", raising=False)
    monkeypatch.delenv("SLEUTEL_KEY_FILE", raising=False)
    plain = sandbox_settings(parse(["admin-token"]))
    assert (plain.store_location, plain.bus, plain.key_file) == (
        "/env/sandbox.sqlite3",
        "",
        Path("/env/sandbox.sqlite3.key"),
    )
    monkeypatch.setenv("SLEUTEL_STORE", "postgresql://env.test/sandbox")
    monkeypatch.setenv("SLEUTEL_BUS", "redis://env.test")
    monkeypatch.setenv("SLEUTEL_KEY_FILE", "/env/shared.key")
    from_env = sandbox_settings(parse(["people", "list"]))
    assert (from_env.store_location, from_env.bus, from_env.key_file) == (
        "postgresql://env.test/sandbox",
        "redis://env.test",
        Path("/env/shared.key"),
    )
    given = ["--store", "postgresql://opt.test/x", "--bus", "redis://opt.test"]
    for argv in ([*given, "serve", "--key-file", "/opt/k"], ["serve", *given, "--key-file=/opt/k"]):
        chosen = sandbox_settings(parse(argv))
        assert (chosen.store_location, chosen.bus, chosen.key_file) == (
            "postgresql://opt.test/x",
            "redis://opt.test",
            Path("/opt/k"),
        ), argv


def test_a_sqlite_store_is_the_same_as_db(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SLEUTEL_KEY_FILE", raising=False)
    for store in ("sqlite:///data/s.sqlite3", "/data/s.sqlite3"):
        settings = sandbox_settings(_parser().parse_args(["admin-token", "--store", store]))
        assert (settings.store_location, settings.key_file) == (
            "/data/s.sqlite3",
            Path("/data/s.sqlite3.key"),
        )


def test_admin_token_follows_the_key_file_not_the_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SLEUTEL_KEY_FILE", raising=False)
    key = tmp_path / "shared" / "sandbox.key"

    def token(*argv: str) -> str:
        assert main(list(argv)) == 0
        return capsys.readouterr().out.strip()

    first = token("--key-file", str(key), "--db", str(tmp_path / "a.sqlite3"), "admin-token")
    assert key.stat().st_mode & 0o777 == 0o600
    assert token("admin-token", "--db", str(tmp_path / "b.sqlite3"), "--key-file", str(key)) == (
        first
    )
    monkeypatch.setenv("SLEUTEL_KEY_FILE", str(key))
    assert token("--db", str(tmp_path / "c.sqlite3"), "admin-token") == first
    assert not list(tmp_path.glob("*.key")), "no key made beside a database"
    other_key = str(tmp_path / "other" / "o.key")
    other = token("--db", str(tmp_path / "d.sqlite3"), "admin-token", "--key-file", other_key)
    assert other != first and len(other) == 64
    # A register command opens the sandbox with the same key (it unseals what serve sealed).
    assert main(["people", "list", "--db", str(tmp_path / "a.sqlite3")]) == 0
    assert len(json.loads(capsys.readouterr().out)) == SEEDED_PEOPLE


@pytest.mark.parametrize("command", [["admin-token"], ["people", "list"], ["serve"]])
def test_an_unknown_store_is_one_line_and_exit_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    command: list[str],
) -> None:
    monkeypatch.delenv("SLEUTEL_KEY_FILE", raising=False)
    monkeypatch.delenv("SLEUTEL_STORE", raising=False)
    db = str(tmp_path / "s.sqlite3")
    code = main([*command, "--db", db, "--store", "mysql://localhost/sandbox"])
    out, err = capsys.readouterr()
    assert (code, out, err) == (
        2,
        "",
        "error: unknown_store: unknown store mysql://: use a file path, sqlite:///path or"
        " postgresql://…\n",
    )
    monkeypatch.setenv("SLEUTEL_STORE", "mongodb://localhost")
    assert main(["--db", db, *command]) == 2
    assert capsys.readouterr().err.startswith("error: unknown_store: unknown store mongodb://:")
    assert list(tmp_path.iterdir()) == [], "neither a database nor a key was made"


def test_demo_and_phone_refuse_the_sandbox_options(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (
        ["--store", "postgresql://db.test/x", "demo"],
        ["--key-file", "k.key", "phone"],
        ["--bus", "redis://x", "demo", "--port", "9000"],
    ):
        with pytest.raises(SystemExit) as stopped:
            main(argv)
        assert stopped.value.code == 2
        assert (
            "--store, --bus, --key-file are for serve, admin-token and the register commands;"
            in capsys.readouterr().err
        )


def test_serve_shows_where_the_data_lives_without_a_password() -> None:
    stores = {
        "": "/d/s.sqlite3",
        "postgresql://sleutel:s3cret@db.test:5432/sandbox": "postgresql://sleutel:***@db.test:5432/sandbox",
        "postgresql://db.test/x?user=u&password=s3cret&sslmode=disable": "postgresql://db.test/x?user=u&password=***&sslmode=disable",
        "postgresql://db.test/x": "postgresql://db.test/x",
    }  # fmt: skip
    for store, shown in stores.items():
        assert shown_store(Settings(db_path=Path("/d/s.sqlite3"), store=store)) == shown


def test_sqlite_needs_no_postgresql_or_redis_client_loaded(tmp_path: Path) -> None:
    """SQLite stays the default: a register command loads neither asyncpg nor redis."""
    program = (
        "import sys; from identity_server.cli import main;"
        " code = main(['--db', sys.argv[1], 'admin-token']);"
        " print(code, sorted({'asyncpg', 'redis'} & set(sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", program, str(tmp_path / "s.sqlite3")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.stdout.splitlines()[-1] == "0 []", done.stderr


def test_clients_add_names_the_dialect_service_codes_and_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from joserfc.jwk import RSAKey

    db = tmp_path / "s.sqlite3"
    keys = tmp_path / "jwks.json"
    key = RSAKey.generate_key(2048, parameters={"kid": "enc-1", "use": "enc"})
    keys.write_text(json.dumps({"keys": [key.as_dict(private=False)]}))
    code, out, _ = _run(
        capsys, db, "clients", "add", "bank", "--name", "Bank", "--redirect-uri",
        "https://bank.example/cb", "--dialect", "itsme", "--service-code", "BANK_LOGIN",
        "--jwks", str(keys),
    )  # fmt: skip
    # private_key_jwt (a JWKS given): no secret is made.
    assert code == 0 and json.loads(out) == {
        "client_id": "bank",
        "client_secret": "",
        "dialect": "itsme",
    }
    code, out, _ = _run(capsys, db, "clients", "list")
    assert {"client_id": "bank", "dialect": "itsme"}.items() <= next(
        c for c in json.loads(out) if c["client_id"] == "bank"
    ).items()
    # An itsme client without service codes, and a JWKS file that is not JSON: one line each.
    code, _, err = _run(capsys, db, "clients", "add", "xxx", "--name", "X", "--redirect-uri",
                        "https://x.example/cb", "--dialect", "itsme", "--jwks", str(keys))  # fmt: skip
    assert code == 2 and err.startswith("error: invalid_service_codes: ")
    keys.write_text("{not json")
    code, _, err = _run(capsys, db, "clients", "add", "yyy", "--name", "Y", "--jwks", str(keys))
    assert code == 2 and err.startswith("error: invalid_jwks: ")
