"""The one error-code registry (#14 item 1): every code the server raises is declared there once,
with its status and a text in every language, and answers that status over HTTP."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from identity_server import error_codes, i18n
from identity_server.core.errors import Conflict, Forbidden, SleutelError
from identity_server.error_codes import REGISTRY, ErrorCode, error_text, named
from identity_server.web.errors import error_middleware

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted(
    path
    for package in ("identity_server", "simulator")
    for path in (ROOT / package).rglob("*.py")
    if "error_codes" not in path.parts
)


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_every_code_has_a_text_in_every_language(lang: str) -> None:
    missing = [code for code in REGISTRY if not i18n.has_text("errors", lang, f"error.{code}")]
    assert not missing, f"no {lang} text for {missing}"
    for code in REGISTRY:
        text = i18n.catalog("errors", lang).gettext(f"error.{code}")
        assert text.strip() and text != f"error.{code}", code


def test_texts_are_translated_and_keep_their_placeholders() -> None:
    for code in REGISTRY:
        texts = {
            lang: i18n.catalog("errors", lang).gettext(f"error.{code}") for lang in i18n.LANGUAGES
        }
        # A language that shows another language's sentence is the "no text in another language"
        # bug of #14 item 1 (a French page with an English refusal).
        assert texts["fr"] != texts["en"] or texts["fr"].isupper(), code
        assert texts["de"] != texts["en"] or texts["de"].isupper(), code
        assert len({frozenset(_placeholders(text)) for text in texts.values()}) == 1, code


def test_error_text_is_the_persons_language_and_dutch_for_the_unknown() -> None:
    assert error_text("fr", "identity_blocked") != error_text("nl", "identity_blocked")
    assert error_text("xx", "wrong_step") == error_text("nl", "wrong_step")
    # A code this registry does not declare (a newer server's): the server's own message.
    assert error_text("de", "brand_new_code", "Server says no") == "Server says no"


def _literal_codes(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            for keyword in node.keywords:
                value = keyword.value
                literal = isinstance(value, ast.JoinedStr) or (
                    isinstance(value, ast.Constant) and isinstance(value.value, str)
                )
                if keyword.arg == "code" and literal:
                    found.append((node.lineno, ast.unparse(value)))
        if isinstance(node, ast.ClassDef):
            for statement in node.body:
                if (
                    isinstance(statement, ast.Assign)
                    and [ast.unparse(t) for t in statement.targets] == ["code"]
                    and isinstance(statement.value, ast.Constant)
                ):
                    found.append((statement.lineno, f"class {node.name}.code"))
    return found


def test_no_error_code_is_written_as_a_string_outside_the_registry() -> None:
    strays = [
        f"{path.relative_to(ROOT)}:{line}: code={what}"
        for path in SOURCES
        for line, what in _literal_codes(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert not strays, "declare these in identity_server/error_codes/:\n" + "\n".join(strays)


def test_codes_built_at_run_time_are_declared() -> None:
    """security_codes raises `{what}_blocked`, `{what}_expired` and `wrong_{what}` for each kind
    of one-time code; every `what=` the code base passes must have all three declared."""
    whats = set()
    for path in SOURCES:
        whats |= set(re.findall(r'\bwhat="([a-z_]+)"', path.read_text(encoding="utf-8")))
    assert whats, "the scan found no security code kinds"
    for what in whats:
        for code in (f"{what}_blocked", f"{what}_expired", f"wrong_{what}"):
            assert named(code).code == code


def test_a_code_is_declared_once_and_names_itself() -> None:
    assert all(declared.code == code for code, declared in REGISTRY.items())
    constants = [value for name, value in vars(error_codes).items() if isinstance(value, ErrorCode)]
    assert {c.code for c in constants} == set(REGISTRY)
    for name, value in vars(error_codes).items():
        if isinstance(value, ErrorCode):
            assert name == value.code.upper()
    with pytest.raises(ValueError, match="declared twice"):
        ErrorCode("identity_blocked", 409)
    with pytest.raises(KeyError):
        named("no_such_code")


def test_an_error_takes_its_status_from_its_code() -> None:
    blocked = Forbidden("blocked", code=error_codes.IDENTITY_BLOCKED)
    assert (blocked.code, blocked.status) == ("identity_blocked", 403)
    # The class gives the kind; a code declared with another status keeps its own.
    assert Conflict("x", code=error_codes.UNKNOWN_USER).status == 404
    assert Conflict("x").code == "conflict" and Conflict("x").status == 409
    pinned = Conflict("x", code=error_codes.IDENTITY_BLOCKED.with_status(409))
    assert (pinned.code, pinned.status) == ("identity_blocked", 409)


async def _raising(request: web.Request) -> web.Response:
    raise SleutelError("refused", code=REGISTRY[request.match_info["code"]])


async def test_every_code_answers_its_declared_status_over_http() -> None:
    app = web.Application(middlewares=[error_middleware])
    app.router.add_get("/refuse/{code}", _raising)
    async with TestClient(TestServer(app)) as client:
        for code, declared in REGISTRY.items():
            response = await client.get(f"/refuse/{code}")
            assert response.status == declared.status, code
            body = await response.json()
            assert body["error"] == code


def test_the_documented_codes_are_the_registrys_with_their_statuses() -> None:
    """README.md and docs/ name refusals as "403 `identity_blocked`": each must be a declared
    code, answered with that status (its default, or where a site pins another one)."""
    sources = "\n".join(path.read_text(encoding="utf-8") for path in SOURCES)
    documents = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    named_in_docs = {
        (int(status), code)
        for document in documents
        for status, code in re.findall(r"\b([1-5]\d\d) `([a-z_]+)`", document.read_text("utf-8"))
    }
    assert (403, "identity_blocked") in named_in_docs
    for status, code in named_in_docs:
        assert code in REGISTRY, f"{code} is documented but not declared"
        pinned = f"{code.upper()}.with_status({status})" in sources
        assert REGISTRY[code].status == status or pinned, f"{status} {code}"


def test_the_demo_site_names_why_it_refused_an_id_token_in_the_pages_language() -> None:
    from identity_server.demo_rp.i18n import error_text as demo_error_text

    french = demo_error_text("fr", "invalid_id_token", "nonce")
    assert (
        "nonce" in french
        and "reason." not in french
        and french != demo_error_text("nl", "invalid_id_token", "nonce")
    )
    assert demo_error_text("de", "invalid_id_token", "no_such_check") == demo_error_text(
        "de", "invalid_id_token", "other"
    )
