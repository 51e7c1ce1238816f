"""`sleutel clock …`, `sleutel robots …` and `sleutel reset`: control a RUNNING sandbox over its
admin API.

They open no database: they talk to the server (`--server`, else $SLEUTEL_SERVER, else
http://127.0.0.1:8470) with the operator's token (`--token`, else $SLEUTEL_ADMIN_TOKEN, else
derived from the sandbox's key file as `sleutel admin-token` does), so they act on the server's
own clock and robots, in every process of the sandbox."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from identity_server.core.errors import SleutelError
from identity_server.core.keyring import Keyring, load_or_create_master_key
from identity_server.error_codes import (
    INVALID_SERVER,
    NO_ADMIN_TOKEN,
    REGISTRY,
    SERVER_UNREACHABLE,
    ErrorCode,
)

DEFAULT_SERVER = "http://127.0.0.1:8470"
COMMANDS = ("clock", "robots", "reset")
OUTCOMES = ("approve", "approve_biometric", "refuse", "wrong_icon", "wrong_code", "never")
TIMEOUT_SECONDS = 30.0
"""A clock jump answers after the expiry sweep it causes (which it waits for 5 s at most)."""

_DURATION = re.compile(r"(?P<number>\d+(?:\.\d+)?)(?P<unit>[smhdw]?)", re.ASCII)
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def duration(text: str) -> float:
    """Seconds from `90`, `90s`, `6m`, `2h`, `14d` or `2w` (an argparse type)."""
    match = _DURATION.fullmatch(text.strip().lower())
    if match is None or float(match["number"]) <= 0:
        raise argparse.ArgumentTypeError(
            f"{text!r} is no duration: give seconds or a number with s, m, h, d or w"
            " (90, 90s, 6m, 2h, 14d)"
        )
    return float(match["number"]) * _UNIT_SECONDS[match["unit"]]


def _seconds(text: str) -> float:
    """A robot's delay: seconds >= 0, with the same units as a duration."""
    return 0.0 if text.strip() in ("0", "0s") else duration(text)


def add_parsers(sub: Any) -> None:
    """The `clock` and `robots` command groups and `reset`, mounted on `sleutel`'s
    sub-parsers."""
    clock = sub.add_parser(
        "clock", help="the running sandbox's clock: show it, move it forward"
    ).add_subparsers(dest="action", required=True)
    _connection(clock.add_parser("show", help="the sandbox's time and its offset"))
    advance = clock.add_parser("advance", help="move the sandbox's time forward by DURATION")
    advance.add_argument("duration", type=duration, help="90, 90s, 6m, 2h, 14d or 2w")
    _connection(advance)
    set_ = clock.add_parser("set", help="move the sandbox's time forward to a moment")
    set_.add_argument("when", help="ISO 8601 with its UTC offset, e.g. 2027-01-05T09:00:00+01:00")
    _connection(set_)

    robots = sub.add_parser(
        "robots", help="robot phones that answer by themselves (running sandbox)"
    ).add_subparsers(dest="action", required=True)
    _connection(robots.add_parser("list", help="every robot phone"))
    put = robots.add_parser("set", help="make a phone number's identity a robot")
    put.add_argument("phone", help="the identity's phone number, e.g. '+32 470 00 00 01'")
    put.add_argument("outcome", choices=OUTCOMES, help="how the robot answers every request")
    put.add_argument(
        "--delay", type=_seconds, default=0.0, metavar="S", help="answer after S (e.g. 10, 2m)"
    )
    put.add_argument(
        "--offline", action="store_true", help="no live connection: it polls for its requests"
    )
    put.add_argument(
        "--national-number",
        default=None,
        metavar="N",
        help="the person to enrol when the phone number has no identity yet",
    )
    _connection(put)
    remove = robots.add_parser("remove", help="the phone answers no more by itself")
    remove.add_argument("phone")
    _connection(remove)
    _connection(
        sub.add_parser(
            "reset",
            help="put the running sandbox back to its seeded world (real time, no faults)",
        )
    )


def _connection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--server",
        default=None,
        metavar="URL",
        help=f"the running sandbox (default: $SLEUTEL_SERVER, else {DEFAULT_SERVER})",
    )
    parser.add_argument(
        "--token",
        default=None,
        help="the admin token (default: $SLEUTEL_ADMIN_TOKEN, else derived from the key file)",
    )


def admin_token(args: argparse.Namespace, key_file: Callable[[], Path]) -> str:
    """`--token`, $SLEUTEL_ADMIN_TOKEN, else the token the key file gives (`sleutel
    admin-token`). A missing key file is an error here, never made: a new key would give a
    token the server does not know."""
    if args.token:
        return str(args.token)
    if os.environ.get("SLEUTEL_ADMIN_TOKEN"):
        return os.environ["SLEUTEL_ADMIN_TOKEN"]
    path = key_file()
    if not path.exists():
        raise SleutelError(
            f"no key file at {path}: give --token or $SLEUTEL_ADMIN_TOKEN (see `sleutel"
            " admin-token` where the server runs), or the sandbox's --db or --key-file",
            code=NO_ADMIN_TOKEN,
        )
    return Keyring(load_or_create_master_key(path)).admin_token


class Server:
    """The admin API of a running sandbox, over HTTP (urllib: one request per command)."""

    def __init__(self, url: str, token: str) -> None:
        if not url.startswith(("http://", "https://")):
            raise SleutelError(
                f"--server takes the sandbox's http:// or https:// URL, not {url!r}",
                code=INVALID_SERVER,
            )
        self.url = url.rstrip("/")
        self.token = token

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Authorization": f"Bearer {self.token}"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        try:
            # The scheme is http(s), checked in __init__ (no file: URL).
            url = self.url + path
            request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raise _refusal(exc) from None
        except urllib.error.URLError as exc:
            reason = getattr(exc.reason, "strerror", None) or exc.reason
            raise SleutelError(
                f"cannot reach {self.url}: {reason} (is `sleutel serve` running there?"
                " --server or $SLEUTEL_SERVER names another)",
                code=SERVER_UNREACHABLE,
            ) from None
        except (TimeoutError, ConnectionError) as exc:
            raise SleutelError(
                f"{self.url} did not answer: {exc.strerror or type(exc).__name__}",
                code=SERVER_UNREACHABLE,
            ) from None
        except ValueError as exc:  # a bad port, a bad host
            raise SleutelError(f"--server {self.url}: {exc}", code=INVALID_SERVER) from None
        return json.loads(raw) if raw else None


def _refusal(exc: urllib.error.HTTPError) -> SleutelError:
    """The server's JSON error (`error`, `message`, `field`) as one CLI line."""
    try:
        body = json.loads(exc.read() or b"{}")
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    code = str(body.get("error") or f"http_{exc.code}")
    message = str(body.get("message") or exc.reason)
    if body.get("field"):
        message += f" (field: {body['field']})"
    if exc.code == 401:
        message += "; the token is not this sandbox's (--token, $SLEUTEL_ADMIN_TOKEN, --key-file)"
    # What the server answered, status included, for scripts (the pytest plugin); a newer
    # server may answer a code this client's registry does not declare.
    declared = REGISTRY.get(code)
    answered = ErrorCode(code, exc.code, declared=False)
    return SleutelError(
        message, code=answered if declared is None else declared.with_status(exc.code)
    )


def _print(data: object) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


def run(args: argparse.Namespace, key_file: Callable[[], Path]) -> int:
    """Run a `clock` or `robots` command; errors are one line on stderr and exit code 2."""
    try:
        url = args.server or os.environ.get("SLEUTEL_SERVER") or DEFAULT_SERVER
        server = Server(url, admin_token(args, key_file))
        _COMMANDS[(args.command, getattr(args, "action", None))](server, args)
    except SleutelError as exc:
        print(f"error: {exc.code}: {exc.message}", file=sys.stderr)
        return 2
    return 0


def _robot_path(phone: str) -> str:
    return "/api/admin/robots/" + quote(phone, safe="")


def _clock_show(server: Server, _: argparse.Namespace) -> None:
    _print(server.call("GET", "/api/sandbox/clock"))


def _clock_advance(server: Server, args: argparse.Namespace) -> None:
    _print(server.call("POST", "/api/sandbox/clock", {"advance": args.duration}))


def _clock_set(server: Server, args: argparse.Namespace) -> None:
    _print(server.call("POST", "/api/sandbox/clock", {"set": args.when}))


def _robots_list(server: Server, _: argparse.Namespace) -> None:
    _print(server.call("GET", "/api/admin/robots"))


def _robots_set(server: Server, args: argparse.Namespace) -> None:
    body: dict[str, Any] = {"outcome": args.outcome, "delay": args.delay, "offline": args.offline}
    if args.national_number:
        body["national_number"] = args.national_number
    _print(server.call("PUT", _robot_path(args.phone), body))


def _robots_remove(server: Server, args: argparse.Namespace) -> None:
    server.call("DELETE", _robot_path(args.phone))


def _reset(server: Server, _: argparse.Namespace) -> None:
    _print(server.call("POST", "/api/sandbox/reset"))


_COMMANDS: dict[tuple[str, str | None], Callable[[Server, argparse.Namespace], None]] = {
    ("clock", "show"): _clock_show,
    ("clock", "advance"): _clock_advance,
    ("clock", "set"): _clock_set,
    ("robots", "list"): _robots_list,
    ("robots", "set"): _robots_set,
    ("robots", "remove"): _robots_remove,
    ("reset", None): _reset,
}
