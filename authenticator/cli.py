"""The `otp` command group (mounted as `sleutel otp ...` and `python -m authenticator otp ...`)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from authenticator.cli_input import ENV_PASSWORD, ENV_VAULT, open_vault, uris_from
from authenticator.clock import Clock, SystemClock
from authenticator.codes import current_code, hotp_code, next_code, seconds_remaining
from authenticator.errors import AuthenticatorError, DuplicateAccount
from authenticator.migration import to_migration_uris
from authenticator.network_time import server_clock
from authenticator.qr import save_png, to_terminal_text
from authenticator.uri import parse_uri, to_uri
from authenticator.vault import ImportResult, collect_accounts

PLAINTEXT_WARNING = (
    "warning: this output holds the account secrets in plain text; anyone who sees it can "
    "generate your codes"
)


ENVIRONMENT = f"""\
environment:
  {ENV_VAULT}           the vault file when --vault is not given (default:
                          ~/.local/share/sleutel/authenticator.vault, or
                          $XDG_DATA_HOME/sleutel/authenticator.vault when that is set)
  {ENV_PASSWORD}  the vault's password, read instead of asking for it: for
                          scripts and CI (a person types it at the prompt; anything that
                          can read this process's environment can read the password)

The vault is encrypted with that password (scrypt, then AES-GCM); add and import create it
on first use."""


def add_subparsers(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    otp = subparsers.add_parser(
        "otp",
        help="authenticator app: TOTP/HOTP codes from a vault",
        description="The authenticator app on the command line: accounts from otpauth URIs\n"
        "or QR images, their current codes, export and QR codes, in an encrypted vault.",
        epilog=ENVIRONMENT,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    otp.add_argument(
        "--vault", metavar="PATH", help=f"vault file (else ${ENV_VAULT}, else the default below)"
    )
    otp.set_defaults(func=run)
    commands = otp.add_subparsers(dest="otp_command", required=True, metavar="COMMAND")
    add = commands.add_parser("add", help="add accounts from an otpauth URI or a QR image")
    add.add_argument("source", metavar="URI|IMAGE_PATH")
    add.add_argument("--name", help="display name (single account only)")
    commands.add_parser("list", help="list account names")
    code = commands.add_parser("code", help="show the current code of an account")
    code.add_argument("name")
    code.add_argument("--next", action="store_true", help="show the code of the next period")
    code.add_argument("-q", "--quiet", action="store_true", help="print the code only")
    code.add_argument(
        "--server",
        metavar="URL",
        help="follow a sandbox's clock (its GET /api/time) instead of this computer's",
    )
    commands.add_parser("remove", help="delete an account").add_argument("name")
    rename = commands.add_parser("rename", help="change an account's display name")
    rename.add_argument("old")
    rename.add_argument("new")
    imp = commands.add_parser("import", help="import a file of URIs, a migration URI or a QR image")
    imp.add_argument("file", metavar="FILE|URI")
    export = commands.add_parser("export", help="print all accounts (plain-text secrets!)")
    export.add_argument("--format", choices=["uris", "migration", "qr"], default="uris")
    qr = commands.add_parser("qr", help="show an account as a QR code in the terminal")
    qr.add_argument("name")
    qr.add_argument("--png", metavar="PATH", help="write a PNG instead")


def _report(result: ImportResult) -> None:
    for name in result.added:
        print(f"added {name}")
    for name in result.duplicates:
        print(f"warning: {name} is already in the vault, skipped", file=sys.stderr)
    for bad in result.rejected:
        label = f"{bad.issuer}:{bad.name}" if bad.issuer else bad.name
        print(f"warning: {label} refused: {bad.error.code}: {bad.error.message}", file=sys.stderr)


def _add(args: argparse.Namespace, clock: Clock) -> int:
    uris = uris_from(args.source)
    collect_accounts(uris)  # refuse malformed input before a password is asked or a vault made
    if args.name is not None:
        if len(uris) != 1 or not uris[0].lower().startswith("otpauth://"):
            raise AuthenticatorError("--name needs exactly one otpauth URI", code="bad_source")
        acc = parse_uri(uris[0])
        vault = open_vault(args.vault, create=True)
        print(f"added {vault.add(acc, args.name)}")
        vault.save()
        return 0
    vault = open_vault(args.vault, create=True)
    result = vault.import_uris(uris)
    if not result.added:
        _report(replace(result, duplicates=[]))  # the error below names the duplicate
        if result.duplicates:
            raise DuplicateAccount(f"{result.duplicates[0]} is already in the vault")
        raise AuthenticatorError("no account could be added", code="nothing_added")
    vault.save()
    _report(result)
    return 0


def _import(args: argparse.Namespace, clock: Clock) -> int:
    uris = uris_from(args.file)
    collect_accounts(uris)
    vault = open_vault(args.vault, create=True)
    result = vault.import_uris(uris)
    vault.save()
    _report(result)
    added, dupes, refused = len(result.added), len(result.duplicates), len(result.rejected)
    print(f"imported {added}, skipped {dupes} duplicate(s), refused {refused}")
    return 0


def _list(args: argparse.Namespace, clock: Clock) -> int:
    for name, acc in open_vault(args.vault).accounts.items():
        print(f"{name}\t{acc.kind}\t{acc.algorithm}\t{acc.digits} digits")
    return 0


def _code(args: argparse.Namespace, clock: Clock) -> int:
    vault = open_vault(args.vault)
    acc = vault.get(args.name)
    if getattr(args, "server", None):
        clock = server_clock(args.server, clock)
    now = clock.now()
    if acc.kind == "hotp" and not args.next:
        # Like a phone app, showing an hotp code consumes its counter value.
        code, note = hotp_code(acc, acc.counter), f"counter {acc.counter}"
        vault.update(args.name, replace(acc, counter=acc.counter + 1))
        vault.save()
    elif args.next:
        code, note = next_code(acc, now), f"next, valid in {seconds_remaining(acc, now)}s"
    else:
        code, note = current_code(acc, now), f"{seconds_remaining(acc, now)}s left"
    print(code if args.quiet else f"{code}  ({note})")
    return 0


def _remove(args: argparse.Namespace, clock: Clock) -> int:
    vault = open_vault(args.vault)
    vault.remove(args.name)
    vault.save()
    print(f"removed {args.name}")
    return 0


def _rename(args: argparse.Namespace, clock: Clock) -> int:
    vault = open_vault(args.vault)
    vault.rename(args.old, args.new)
    vault.save()
    print(f"renamed {args.old} -> {args.new.strip()}")
    return 0


def _export(args: argparse.Namespace, clock: Clock) -> int:
    vault = open_vault(args.vault)
    print(PLAINTEXT_WARNING, file=sys.stderr)
    if args.format == "migration":
        print("\n".join(to_migration_uris(list(vault.accounts.values()))))
    elif args.format == "qr":
        for name, acc in vault.accounts.items():
            print(f"{name}\n{to_terminal_text(to_uri(acc))}\n")
    else:
        print("\n".join(vault.export_uris()))
    return 0


def _qr(args: argparse.Namespace, clock: Clock) -> int:
    uri = to_uri(open_vault(args.vault).get(args.name))
    if args.png:
        save_png(uri, Path(args.png).expanduser())
        print(f"wrote {args.png}")
    else:
        print(to_terminal_text(uri))
    return 0


_COMMANDS: dict[str, Callable[[argparse.Namespace, Clock], int]] = {
    "add": _add,
    "list": _list,
    "code": _code,
    "remove": _remove,
    "rename": _rename,
    "import": _import,
    "export": _export,
    "qr": _qr,
}


def run(args: argparse.Namespace, clock: Clock | None = None) -> int:
    """Execute a parsed `otp` command; expected failures print `error: code: message`, exit 2."""
    try:
        return _COMMANDS[args.otp_command](args, clock or SystemClock())
    except AuthenticatorError as error:
        print(f"error: {error.code}: {error.message}", file=sys.stderr)
    except OSError as error:
        print(f"error: io_error: {error}", file=sys.stderr)
    except (KeyboardInterrupt, EOFError):
        print("error: cancelled: no password given", file=sys.stderr)
    return 2
