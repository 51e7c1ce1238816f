"""Start-up loads only what the first request needs (issue #15 item 4): importing the app leaves
the heavy libraries that only some pages or commands use to those pages and commands.

test_import_hygiene.py holds the domain to the storage interfaces; this holds the server's
start-up to what it answers with first (`GET /api/health`)."""

from __future__ import annotations

import json
import subprocess
import sys

from argon2 import PasswordHasher, extract_parameters
from argon2.exceptions import VerifyMismatchError

from identity_server import cli
from identity_server.csam.passwords import _unmatchable_hash

# Each, with what loads it when it is needed.
NOT_AT_START = (
    "phonenumbers",  # parsing a phone number, the country picker (core/phone.py)
    "babel",  # country names (i18n/countries.py), message extraction (scripts/i18n)
    "zxcvbn",  # scoring a new password, in the worker process (csam/passwords.py)
    "joserfc",  # making signing keys, private_key_jwt clients (oidc/keys.py, oidc/clients.py)
    "segno",  # the CSAM activation page's QR code
    "textual",  # the terminal phone
    "simulator",  # the phone's side
    "authenticator.cli",  # `sleutel otp`
    "identity_server.demo_rp",  # `sleutel serve` without --no-demo-rp
    "asyncpg",  # --store postgresql://…
    "identity_server.store.postgresql",
    "redis",  # --bus redis://…
    "identity_server.bus.redis",
)


def _loaded(statement: str, names: tuple[str, ...]) -> list[str]:
    """Which of `names` (or their submodules) a fresh interpreter has loaded after `statement`."""
    script = (
        "import json, sys\n"
        f"{statement}\n"
        f"names = {names!r}\n"
        "print(json.dumps(sorted(m for m in sys.modules\n"
        "    if any(m == n or m.startswith(n + '.') for n in names))))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    loaded: list[str] = json.loads(result.stdout)
    return loaded


def test_importing_the_app_loads_none_of_the_heavy_modules() -> None:
    assert _loaded("import identity_server.web.app", NOT_AT_START) == []
    # The check sees a module when it is loaded.
    assert "aiohttp.web" in _loaded("import identity_server.web.app", ("aiohttp",))


def test_the_serve_command_loads_neither_the_demo_website_nor_the_authenticator() -> None:
    # `sleutel serve --no-demo-rp` imports the command line module and builds its parser.
    statement = "import identity_server.cli as c; c._parser(otp=False)"
    kept = ("identity_server.demo_rp", "authenticator.cli", "textual", "phonenumbers", "joserfc")
    assert _loaded(statement, kept) == []


def test_country_names_load_on_first_use_without_phonenumbers_geodata() -> None:
    script = (
        "import json, sys\n"
        "from identity_server.core import phone\n"
        "before = 'babel.core' in sys.modules\n"
        "names = {r: [phone.country_name(r, l) for l in ('nl', 'fr', 'en', 'de', 'xx')]\n"
        "         for r in phone.MOST_SELECTED + ('AC', 'XK', 'CI', 'ZZ')}\n"
        "picker = [c.region for c in phone.country_choices('fr')]\n"
        "print(json.dumps([before, 'phonenumbers.geodata' in sys.modules, names, len(picker)]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    babel_at_import, geodata, names, regions = json.loads(result.stdout)
    assert not babel_at_import and not geodata
    assert names["BE"] == ["België", "Belgique", "Belgium", "Belgien", "België"]
    assert names["CI"][:2] == ["Ivoorkust", "Côte d’Ivoire"] and names["XK"][0] == "Kosovo"
    assert names["ZZ"] == ["ZZ"] * 5
    assert regions > 240


def test_the_timing_equaliser_costs_a_real_verification_and_never_matches() -> None:
    # Made without hashing at start-up; verifying against it must cost what verifying a user's
    # real hash costs, or an unknown username would answer faster.
    for hasher in (PasswordHasher(), PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)):
        dummy = _unmatchable_hash(hasher)
        assert extract_parameters(dummy) == extract_parameters(hasher.hash("x"))
        assert _unmatchable_hash(hasher) != dummy
    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    dummy = _unmatchable_hash(cheap)
    for password in ("", "x", "not a real password: timing equaliser"):
        assert _never_matches(cheap, dummy, password)


def _never_matches(hasher: PasswordHasher, stored: str, password: str) -> bool:
    """A mismatch (a hash argon2 could not read would raise another error)."""
    try:
        hasher.verify(stored, password)
    except VerifyMismatchError:
        return True
    return False


def test_help_names_otp_as_the_authenticator_does() -> None:
    def otp_help(parser: object) -> str:
        sub = next(a for a in parser._actions if a.dest == "command")  # type: ignore[attr-defined]
        return str(next(c.help for c in sub._choices_actions if c.dest == "otp"))

    assert otp_help(cli._parser(otp=False)) == otp_help(cli._parser()) == cli.OTP_HELP
