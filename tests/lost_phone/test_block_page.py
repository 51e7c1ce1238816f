"""The block page (#14 item 3): the same answer whatever the number and the check (no account
enumeration), a request limit per number that holds for unknown numbers too, bad input refused
in place, and every language's page saying what to do next."""

from __future__ import annotations

from typing import Any, cast
from urllib.parse import quote

import pytest

from identity_server.core.clock import ManualClock
from identity_server.core.lost_phone import MAX_BLOCK_REQUESTS, LostPhones
from identity_server.core.records import IdentityStatus
from identity_server.services import Services
from identity_server.store.core import Store
from simulator.phone import HeadlessPhone
from tests.lost_phone.conftest import (
    ANNELIES_E164,
    ANNELIES_PHONE,
    Client,
    block,
    national_number_of,
)
from tests.oidc.conftest import RelyingParty
from tests.oidc.test_login_forms import _login

UNKNOWN_PHONE = "0470 99 88 77"  # a valid mobile number no identity has


async def _status(services: Services) -> IdentityStatus:
    identity = await services.store.identity_by_phone(ANNELIES_E164)
    assert identity is not None
    return identity.status


async def _sent(services: Services) -> int:
    return len(await services.store.list_messages())


async def test_unknown_number_wrong_check_and_right_check_answer_alike(
    client: Client, services: Services, annelies: HeadlessPhone, annelies_number: str
) -> None:
    other = await national_number_of(services, "hugues.marchal@example.be")
    before = await _sent(services)
    unknown = await block(client, UNKNOWN_PHONE, annelies_number)
    wrong = await block(client, ANNELIES_PHONE, other)
    # Neither blocked anything nor sent anything.
    assert await _status(services) is IdentityStatus.ACTIVE
    assert await _sent(services) == before
    right = await block(client, ANNELIES_PHONE, annelies_number)
    assert await _status(services) is IdentityStatus.BLOCKED
    again = await block(client, ANNELIES_PHONE, annelies_number)  # already blocked
    # Same status, same page, byte for byte: nothing tells which number has an identity.
    assert unknown == wrong == right == again
    assert (right.status, right.error_code) == (200, "")
    # Only the holder learns it happened: one SMS and one e-mail, once.
    assert await _sent(services) == before + 2


async def test_requests_per_number_are_limited_known_or_unknown(
    client: Client,
    clock: ManualClock,
    services: Services,
    annelies: HeadlessPhone,
    annelies_number: str,
) -> None:
    other = await national_number_of(services, "hugues.marchal@example.be")
    for phone in (ANNELIES_PHONE, UNKNOWN_PHONE):
        answers = [await block(client, phone, other) for _ in range(MAX_BLOCK_REQUESTS)]
        assert {a.status for a in answers} == {200}
    # The next request for either number is refused alike, even with the right check: guessing
    # a national number (a birth date and a counter) stops after a few tries.
    limited = await block(client, ANNELIES_PHONE, annelies_number)
    unknown = await block(client, UNKNOWN_PHONE, annelies_number)
    assert (limited.status, limited.error_code) == (429, "too_many_attempts")
    # What to do instead: wait a day, or activate on the new phone, which retires the old one.
    assert "Probeer het morgen opnieuw, of activeer itsme meteen" in limited.text
    # The same page but for the number typed, which the form shows again to correct.
    assert limited.text.replace(ANNELIES_PHONE, UNKNOWN_PHONE) == unknown.text
    assert await _status(services) is IdentityStatus.ACTIVE
    # Another number is not held back by them; a day later the holder can block.
    assert (await block(client, "0470 12 34 56", other)).status == 200
    clock.advance(hours=24)
    assert (await block(client, ANNELIES_PHONE, annelies_number)).status == 200
    assert await _status(services) is IdentityStatus.BLOCKED


@pytest.mark.parametrize(
    ("number", "national_number", "code"),
    [
        (ANNELIES_PHONE, "check digits off by one", "invalid_national_number"),
        (ANNELIES_PHONE, "", "invalid_national_number"),
        (UNKNOWN_PHONE, "12345", "invalid_national_number"),
        ("12", "82010700262", "invalid_phone_number"),
        ("02 511 11 11", "82010700262", "not_a_mobile_number"),  # a landline
    ],
)
async def test_bad_input_is_refused_in_place_and_counts_nothing(
    client: Client,
    services: Services,
    annelies: HeadlessPhone,
    annelies_number: str,
    number: str,
    national_number: str,
    code: str,
) -> None:
    if national_number == "check digits off by one":
        national_number = annelies_number[:-2] + f"{(int(annelies_number[-2:]) + 1) % 100:02d}"
    answer = await block(client, number, national_number)
    assert (answer.status, answer.error_code) == (400, code)
    assert 'name="national_number"' in answer.text  # the form again, to correct
    assert await _status(services) is IdentityStatus.ACTIVE


SAYS = {
    "nl": ("Je itsme-identiteit blokkeren", "Rijksregisternummer", "Wat nu?"),
    "fr": ("Bloquer votre identité itsme", "Numéro de registre national", "Et ensuite ?"),
    "en": ("Block your itsme identity", "National register number", "What next?"),
    "de": ("Ihre itsme-Identität sperren", "Nationalregisternummer", "Wie geht es weiter?"),
}


@pytest.mark.parametrize("lang", sorted(SAYS))
async def test_the_page_speaks_its_language_and_says_what_to_do_next(
    client: Client, lang: str, annelies_number: str
) -> None:
    form = await client.get(f"/block?lang={lang}")
    page = await form.text()
    assert form.status == 200
    for text in SAYS[lang]:
        assert text in page
    for other, texts in SAYS.items():
        if other != lang:
            assert texts[1] not in page, other
    sent = await block(client, UNKNOWN_PHONE, annelies_number, lang=lang)
    assert SAYS[lang][2] in sent.text and 'href="/register?lang=' in sent.text


@pytest.mark.parametrize(
    "form",
    [
        {"region": "ZZ", "phone": ANNELIES_PHONE, "national_number": "82010700262"},
        {"region": "\x00B", "phone": "\x00", "national_number": "\x00"},
        {"phone": "+32 494 00 12 68", "national_number": "８２０１０７００２６２"},  # wide digits
        {"phone": "☎" * 32, "national_number": "9" * 32},
        {"phone": ANNELIES_PHONE, "national_number": "82.01.07-002.62" + "\udcff"},
        {"phone": ANNELIES_PHONE, "national_number": ["a", "b"]},
        {"phone": ANNELIES_PHONE, "national_number": "1" * 33},  # over the declared length
    ],
)
async def test_odd_input_is_a_4xx_with_a_stable_code(
    client: Client, form: dict[str, object]
) -> None:
    data = [
        (key, item)
        for key, value in form.items()
        for item in (value if isinstance(value, list) else [value])
    ]
    encoded = "&".join(f"{k}={quote(str(v).encode('utf-8', 'surrogatepass'))}" for k, v in data)
    response = await client.post(
        "/block",
        data=encoded,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert 400 <= response.status < 500, await response.text()
    assert response.headers.get("Sleutel-Error")


async def test_the_login_page_of_a_blocked_identity_says_what_to_do_next(
    client: Client, rp: RelyingParty, annelies: HeadlessPhone, annelies_number: str
) -> None:
    assert (await block(client, ANNELIES_PHONE, annelies_number)).status == 200
    login = await _login(client, rp)
    response = await client.post(
        f"{login}?lang=fr", data={"region": "BE", "phone": ANNELIES_PHONE}, allow_redirects=False
    )
    page = await response.text()
    assert response.headers["Sleutel-Error"] == "identity_blocked"
    assert 'id="next-step"' in page and "Activez à nouveau itsme" in page
    assert 'href="/register?lang=fr"' in page


class CountingStore:
    """The store, recording which of its methods a use case calls (in order)."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        found = getattr(self.inner, name)
        if not callable(found):
            return found

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            return found(*args, **kwargs)

        return call


async def test_an_unknown_number_and_a_wrong_check_do_the_same_work(
    services: Services, annelies: HeadlessPhone
) -> None:
    """The same timing class: the same reads and writes, whether the number has an identity or
    not (the check is then compared with a stand-in, in constant time like the real one)."""
    other = await national_number_of(services, "hugues.marchal@example.be")
    work = []
    for phone in (UNKNOWN_PHONE, ANNELIES_PHONE):
        store = CountingStore(services.store)
        lost_phones = LostPhones(
            cast(Store, store), services.clock, services.keyring, services.outbox, services.push
        )
        await lost_phones.block(phone, other)
        work.append(store.calls)
    assert work[0] == work[1]
    assert work[0] == ["atomic", "get_block_requests", "save_block_requests", "identity_by_phone"]
