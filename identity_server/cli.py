"""The `sleutel` command: serve the sandbox and manage its registers."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from identity_server import control_cli
from identity_server.core.errors import InvalidInput, SleutelError
from identity_server.core.records import Address
from identity_server.error_codes import INVALID_FIELD, INVALID_JWKS, UNKNOWN_CLIENT
from identity_server.i18n import DEFAULT, LANGUAGES
from identity_server.oidc.client_config import load_clients
from identity_server.oidc.push import MAX_PENDING
from identity_server.runtime import open_services, run_server
from identity_server.services import Services
from identity_server.settings import Settings
from identity_server.web import views
from simulator.errors import SimulatorError


def default_db() -> Path:
    if os.environ.get("SLEUTEL_DB"):
        return Path(os.environ["SLEUTEL_DB"])
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    folder = base / "sleutel"
    # The default folder is sleutel's own: made private (0700) even if an earlier version
    # created it readable by others. A folder the user names with --db is left as it is.
    if folder.is_dir() and folder.stat().st_mode & 0o077:
        folder.chmod(0o700)
    return folder / "sleutel.sqlite3"


def _positive(text: str) -> int:
    # isdecimal, not isdigit: '²'.isdigit() is true and int('²') raises.
    if not (text.isascii() and text.isdecimal()) or int(text) < 1:
        raise argparse.ArgumentTypeError("give a whole number of 1 or more")
    return int(text)


def _port(text: str) -> int:
    if not (text.isascii() and text.isdecimal()) or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError("give a port number from 1 to 65535")
    return int(text)


_DB_HELP = "SQLite database (default: $SLEUTEL_DB or ~/.local/share/sleutel)"
_STORE_HELP = (
    "where the data lives instead of the SQLite file: postgresql://user@host:port/db, shared by"
    " every process of one sandbox (default: $SLEUTEL_STORE, else the --db file)"
)
_BUS_HELP = (
    "how processes reach each other's phones: redis://host:port (default: $SLEUTEL_BUS, else"
    " within this process only)"
)
_KEY_FILE_HELP = (
    "the master key, shared by every process of one sandbox and made by the first that finds"
    " none (default: $SLEUTEL_KEY_FILE, else beside the --db file)"
)
SHARED_OPTIONS = ("--store", "--bus", "--key-file")
"""Where a sandbox's data, bus and key are: for the commands that open the sandbox (`serve`,
`admin-token`, the register commands), not for `demo` (it runs a SQLite sandbox of its own) nor
`phone` (it only talks to a server)."""
_NOT_SHARED = ("otp", "demo", "phone")


def _add_global_options(parser: argparse.ArgumentParser, *, shared: bool, top: bool) -> None:
    """`--db` everywhere but `otp`, the shared options where they mean something. At the top
    the defaults are None (read from the environment in `main`); below, SUPPRESS: see
    `_accept_globals_anywhere`."""
    default = None if top else argparse.SUPPRESS
    parser.add_argument("--db", type=Path, default=default, help=_DB_HELP)
    if shared:
        parser.add_argument("--store", default=default, metavar="URL", help=_STORE_HELP)
        parser.add_argument("--bus", default=default, metavar="URL", help=_BUS_HELP)
        parser.add_argument(
            "--key-file", type=Path, default=default, metavar="PATH", help=_KEY_FILE_HELP
        )


def _accept_globals_anywhere(parser: argparse.ArgumentParser, *, shared: bool = True) -> None:
    """Let `--db` (and `--store`, `--bus`, `--key-file`) follow the sub-command too (`sleutel
    serve --db PATH`), at every level.

    Sub-parsers get the option with a SUPPRESS default: one not given there then leaves the value
    the top-level parser read untouched, instead of overwriting it with None. The `otp` group keeps
    its own options (its vault is no database)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                if name == "otp":
                    continue
                child_shared = shared and name not in _NOT_SHARED
                _add_global_options(child, shared=child_shared, top=False)
                _accept_globals_anywhere(child, shared=child_shared)


def _parser(*, otp: bool = True) -> argparse.ArgumentParser:
    """`otp`: with the authenticator's own sub-commands; without, `otp` is only named (as in
    `sleutel --help`), which spares every other command importing the authenticator."""
    parser = argparse.ArgumentParser(prog="sleutel", description=__doc__)
    _add_global_options(parser, shared=True, top=True)
    sub = parser.add_subparsers(dest="command", required=True)

    s = sub.add_parser("serve", help="run the identity server")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=_port, default=8470)
    s.add_argument("--public-url", default="")
    s.add_argument(
        "--no-seed", action="store_true", help="do not seed the demo people on first start"
    )
    s.add_argument(
        "--clients", type=Path, default=None, help="JSON file of relying parties to register"
    )
    s.add_argument(
        "--fast-hashing",
        action="store_true",
        help="hash passwords at argon2's lowest cost (for test suites, not for real secrets)",
    )
    s.add_argument(
        "--world",
        type=Path,
        default=None,
        metavar="FILE",
        help="TOML file declaring people, cards, banks, clients and onboarded identities",
    )
    s.add_argument(
        "--no-demo-rp", action="store_true", help="do not start the demo municipality website"
    )
    s.add_argument(
        "--demo-rp-port", type=_port, default=0, help="port of the demo website (default: port + 1)"
    )
    s.add_argument(
        "--max-pending",
        type=_positive,
        default=MAX_PENDING,
        help="requests one person's app may hold unanswered at once (default 5; raise it for"
        " load tests that log one identity in many times in parallel)",
    )

    sub.add_parser("admin-token", help="print the admin API bearer token")

    demo = sub.add_parser(
        "demo", help="start the sandbox with its demo website, and open the phone"
    )
    demo.add_argument(
        "--port",
        type=_port,
        default=8470,
        help="the server's port; its demo website takes port + 1",
    )
    demo.add_argument("--profile", default="demo", help="which phone (each keeps its own keys)")
    phone = sub.add_parser("phone", help="open the terminal phone against a running server")
    phone.add_argument("--server", default="http://127.0.0.1:8470")
    phone.add_argument("--profile", default="default", help="which phone (each keeps its own keys)")

    people = sub.add_parser("people", help="the national register").add_subparsers(
        dest="action", required=True
    )
    people.add_parser("list")
    add = people.add_parser("add")
    add.add_argument("--first-names", required=True)
    add.add_argument("--last-name", required=True)
    add.add_argument("--birth-date", required=True, help="YYYY-MM-DD")
    add.add_argument("--birth-place", required=True)
    add.add_argument("--sex", choices=["M", "F"], required=True)
    add.add_argument("--nationality", default="BE")
    add.add_argument("--street", required=True)
    add.add_argument("--postal-code", required=True)
    add.add_argument("--municipality", required=True)
    add.add_argument("--country", default="BE")
    add.add_argument("--language", choices=LANGUAGES, default=DEFAULT)
    add.add_argument("--email", required=True)
    add.add_argument("--national-number", default=None)
    add.add_argument("--kind", choices=["nn", "bis"], default="nn")

    cards = sub.add_parser("cards", help="eID cards").add_subparsers(dest="action", required=True)
    cards.add_parser("list")
    issue = cards.add_parser("issue")
    issue.add_argument("national_number")
    issue.add_argument("--pin")
    issue.add_argument("--puk")
    issue.add_argument("--issue-place", default="Brussel")
    unblock = cards.add_parser("unblock")
    unblock.add_argument("card_number")
    unblock.add_argument("--puk", required=True)
    unblock.add_argument("--new-pin", required=True)

    banks = sub.add_parser("banks", help="simulated banks").add_subparsers(
        dest="action", required=True
    )
    banks.add_parser("list")
    add_bank = banks.add_parser("add")
    add_bank.add_argument("bank_id")
    add_bank.add_argument("name")
    add_bank.add_argument("--country", choices=["BE", "NL"], default="BE")

    customers = sub.add_parser(
        "customers", help="bank customers and their digipasses"
    ).add_subparsers(dest="action", required=True)
    list_customers = customers.add_parser("list")
    list_customers.add_argument("--bank")
    add_customer = customers.add_parser("add")
    add_customer.add_argument("bank_id")
    add_customer.add_argument("national_number")

    sub.add_parser("identities", help="list itsme-style identities and their phones")

    clients = sub.add_parser(
        "clients", help="relying parties (OpenID Connect clients)"
    ).add_subparsers(dest="action", required=True)
    clients.add_parser("list")
    add_client = clients.add_parser("add")
    add_client.add_argument("client_id")
    add_client.add_argument("--name", required=True, help="the name the phone shows")
    add_client.add_argument("--redirect-uri", action="append", default=[], dest="redirect_uris")
    add_client.add_argument("--ciba-mode", choices=["poll", "ping", "push", ""], default="poll")
    add_client.add_argument("--notification-endpoint", default="")
    add_client.add_argument("--id-token-alg", choices=["RS256", "ES256"], default="RS256")
    add_client.add_argument("--scope", action="append", default=None, dest="scopes")
    add_client.add_argument(
        "--dialect",
        choices=["generic", "itsme", "fas"],
        default="generic",
        help="the issuer it speaks to: / (generic), /itsme/v2 or /fas/oauth2",
    )
    add_client.add_argument(
        "--service-code",
        action="append",
        default=None,
        dest="service_codes",
        help="itsme: a service code its requests name as scope service:<CODE> (repeatable)",
    )
    add_client.add_argument(
        "--auth-method",
        choices=["client_secret_basic", "client_secret_post", "private_key_jwt"],
        default=None,
        help="default: private_key_jwt with --jwks, else client_secret_basic",
    )
    add_client.add_argument(
        "--jwks", type=Path, default=None, help="JSON file of the client's public keys (JWKS)"
    )
    load = clients.add_parser("load", help="register every client of a JSON file")
    load.add_argument("file", type=Path)
    remove = clients.add_parser("remove")
    remove.add_argument("client_id")
    keys = sub.add_parser("keys", help="the provider's signing keys").add_subparsers(
        dest="action", required=True
    )
    keys.add_parser(
        "rotate", help="new signing keys; the current ones stay published until the next rotation"
    )
    if otp:
        _mount_otp(sub)
    else:
        sub.add_parser("otp", help=OTP_HELP)
    control_cli.add_parsers(sub)
    _accept_globals_anywhere(parser)
    return parser


OTP_HELP = "authenticator app: TOTP/HOTP codes from a vault"
"""The `otp` line of `sleutel --help` (authenticator/cli.py's own, kept equal by a test)."""


def _mount_otp(sub: Any) -> None:
    # Imported here: the authenticator (QR codes, vault, migration payloads) loads only for
    # `sleutel otp …` (its module imports all of that at the top).
    from authenticator import cli as otp_cli

    otp_cli.add_subparsers(sub)


def _print(rows: object) -> None:
    print(json.dumps(rows, indent=2, ensure_ascii=False))


async def _registers(args: argparse.Namespace, settings: Settings) -> None:
    async with open_services(settings) as services:
        await _REGISTER_COMMANDS[(args.command, getattr(args, "action", None))](services, args)


async def _people_list(s: Services, _: argparse.Namespace) -> None:
    _print([views.person(p) for p in await s.store.list_people()])


async def _people_add(s: Services, a: argparse.Namespace) -> None:
    try:
        birth = date.fromisoformat(a.birth_date)
    except ValueError as exc:
        raise SleutelError("--birth-date must look like 1982-01-07", code=INVALID_FIELD) from exc
    person = await s.registers.add_person(
        first_names=a.first_names,
        last_name=a.last_name,
        birth_date=birth,
        birth_place=a.birth_place,
        sex=a.sex,
        nationality=a.nationality,
        address=Address(a.street, a.postal_code, a.municipality, a.country),
        language=a.language,
        email=a.email,
        national_number=a.national_number,
        kind=a.kind,
    )
    _print(views.person(person))


async def _cards_list(s: Services, _: argparse.Namespace) -> None:
    _print(
        [
            views.card(c, await s.store.get_person(c.national_number))
            for c in await s.store.list_cards()
        ]
    )


async def _cards_issue(s: Services, a: argparse.Namespace) -> None:
    issued = await s.registers.issue_card(
        a.national_number, issue_place=a.issue_place, pin=a.pin, puk=a.puk
    )
    _print(views.card(issued.card) | {"pin": issued.pin, "puk": issued.puk})


async def _cards_unblock(s: Services, a: argparse.Namespace) -> None:
    _print(views.card(await s.registers.unblock_card(a.card_number, a.puk, a.new_pin)))


async def _banks_list(s: Services, _: argparse.Namespace) -> None:
    _print([views.bank(b) for b in await s.store.list_banks()])


async def _banks_add(s: Services, a: argparse.Namespace) -> None:
    _print(views.bank(await s.registers.add_bank(a.bank_id, a.name, a.country)))


async def _customers_list(s: Services, a: argparse.Namespace) -> None:
    _print([views.customer(c) for c in await s.store.list_customers(a.bank)])


async def _customers_add(s: Services, a: argparse.Namespace) -> None:
    _print(views.customer(await s.registers.add_customer(a.bank_id, a.national_number)))


async def _identities(s: Services, _: argparse.Namespace) -> None:
    _print([views.identity(i) for i in await s.store.list_identities()])


async def _admin_token(s: Services, _: argparse.Namespace) -> None:
    print(s.keyring.admin_token)


async def _clients_list(s: Services, _: argparse.Namespace) -> None:
    _print([{"client_id": c.client_id, "name": c.name, "redirect_uris": list(c.redirect_uris),
             "ciba_mode": c.ciba_mode, "dialect": c.dialect}
            for c in await s.oidc_store.list_clients()])  # fmt: skip


async def _clients_add(s: Services, a: argparse.Namespace) -> None:
    jwks = None
    if a.jwks is not None:
        try:
            jwks = json.loads(a.jwks.read_text())
        except (OSError, ValueError) as exc:
            raise InvalidInput(f"Cannot read {a.jwks}: {exc}", code=INVALID_JWKS) from None
    client, secret = await s.clients.register(
        client_id=a.client_id,
        name=a.name,
        redirect_uris=a.redirect_uris,
        auth_method=a.auth_method or ("private_key_jwt" if jwks else "client_secret_basic"),
        jwks=jwks,
        ciba_mode=a.ciba_mode,
        notification_endpoint=a.notification_endpoint,
        id_token_alg=a.id_token_alg,
        scopes=a.scopes,
        dialect=a.dialect,
        service_codes=a.service_codes,
    )
    _print({"client_id": client.client_id, "client_secret": secret, "dialect": client.dialect})


async def _clients_load(s: Services, a: argparse.Namespace) -> None:
    _print([c.client_id for c in await load_clients(s.clients, a.file)])


async def _clients_remove(s: Services, a: argparse.Namespace) -> None:
    if not await s.oidc_store.delete_client(a.client_id):
        raise SleutelError("Unknown client", code=UNKNOWN_CLIENT)


async def _keys_rotate(s: Services, _: argparse.Namespace) -> None:
    _print({"active": await s.signing_keys.rotate()})


_REGISTER_COMMANDS: dict[
    tuple[str, str | None], Callable[[Services, argparse.Namespace], Awaitable[None]]
] = {
    ("people", "list"): _people_list,
    ("people", "add"): _people_add,
    ("cards", "list"): _cards_list,
    ("cards", "issue"): _cards_issue,
    ("cards", "unblock"): _cards_unblock,
    ("banks", "list"): _banks_list,
    ("banks", "add"): _banks_add,
    ("customers", "list"): _customers_list,
    ("customers", "add"): _customers_add,
    ("identities", None): _identities,
    ("admin-token", None): _admin_token,
    ("clients", "list"): _clients_list,
    ("clients", "add"): _clients_add,
    ("clients", "load"): _clients_load,
    ("clients", "remove"): _clients_remove,
    ("keys", "rotate"): _keys_rotate,
}


def _from_option_or_env(given: str | None, variable: str) -> str:
    """An option given on the command line wins over its environment variable."""
    return given if given is not None else os.environ.get(variable, "")


def sandbox_settings(args: argparse.Namespace, **serving: Any) -> Settings:
    """Where the sandbox's data, bus and key are, from the options or the environment.

    A SQLite location given with `--store` (`sqlite:///path` or a plain path) is the same as
    `--db path`: the key file then defaults to beside that file, as with `--db`."""
    store = _from_option_or_env(args.store, "SLEUTEL_STORE")
    db = args.db or default_db()
    if store and ("://" not in store or store.startswith("sqlite://")):
        db, store = Path(store.removeprefix("sqlite://")), ""
    key_file = args.key_file or os.environ.get("SLEUTEL_KEY_FILE")
    return Settings(
        db_path=db,
        store=store,
        bus=_from_option_or_env(args.bus, "SLEUTEL_BUS"),
        master_key_file=Path(key_file) if key_file else None,
        **serving,
    )


def main(argv: Sequence[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else list(argv)
    parser = _parser(otp="otp" in words)
    args = parser.parse_args(words)
    if args.command == "otp":
        from authenticator import cli as otp_cli

        return otp_cli.run(args)
    if args.command in _NOT_SHARED and any(
        getattr(args, option[2:].replace("-", "_"), None) is not None for option in SHARED_OPTIONS
    ):
        parser.error(
            f"{', '.join(SHARED_OPTIONS)} are for serve, admin-token and the register commands;"
            f" {args.command} does not take them"
        )
    if args.command in control_cli.COMMANDS:
        # A running server's clock and robots, over HTTP; the options only locate the key file.
        return control_cli.run(args, lambda: sandbox_settings(args).key_file)
    try:
        if args.command in ("demo", "phone"):
            # Imported here: only these commands need the terminal UI.
            from simulator.app.main import run_demo, run_phone

            db = args.db or default_db()
            profiles = db.parent / "phones"
            if args.command == "demo":
                run_demo(db, profiles, profile=args.profile, port=args.port)
            else:
                run_phone(args.server, args.profile, profiles)
        elif args.command == "serve":
            settings = sandbox_settings(
                args,
                host=args.host,
                port=args.port,
                public_url=args.public_url,
                seed_demo=not args.no_seed,
                clients_file=args.clients,
                world_file=args.world,
                fast_hashing=args.fast_hashing,
                demo_rp=not args.no_demo_rp,
                demo_rp_port=args.demo_rp_port,
                max_pending=args.max_pending,
            )
            run_server(settings)
        else:
            asyncio.run(_registers(args, sandbox_settings(args)))
    except (SleutelError, SimulatorError) as exc:  # the phone's launcher has errors of its own
        print(f"error: {exc.code}: {exc.message}", file=sys.stderr)
        return 2
    except OSError as exc:
        # A file the command needs and cannot use (the key file beside the database, a
        # profile folder): one line, like every other refusal.
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"error: file_error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
