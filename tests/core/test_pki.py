from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from identity_server.core.errors import InvalidInput
from identity_server.core.pki import (
    Authority,
    CardKeys,
    Purpose,
    cert_from_pem,
    cert_to_pem,
    create_citizen_ca,
    create_root,
    issue_card_certificates,
    key_from_pem,
    key_to_pem,
    sign,
    verify_signature,
)

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
DATA = b"I agree to the terms."


@pytest.fixture(scope="module")
def root() -> Authority:
    return create_root(NOW)


@pytest.fixture(scope="module")
def citizen_ca(root: Authority) -> Authority:
    return create_citizen_ca(root, NOW)


@pytest.fixture(scope="module")
def card(citizen_ca: Authority) -> CardKeys:
    return issue_card_certificates(
        citizen_ca,
        first_names="Jan Pieter",
        last_name="Peeters",
        national_number="85073003328",
        valid_from=NOW,
        valid_until=NOW + timedelta(days=3650),
    )


def _verify(
    cert: x509.Certificate,
    signature: bytes,
    *,
    root: Authority,
    citizen_ca: Authority,
    data: bytes = DATA,
    at: datetime = NOW + timedelta(days=1),
    purpose: Purpose = "signature",
) -> None:
    verify_signature(
        cert,
        data,
        signature,
        chain=[citizen_ca.certificate],
        roots=[root.certificate],
        at=at,
        purpose=purpose,
    )


def _code(excinfo: pytest.ExceptionInfo[InvalidInput]) -> str:
    return excinfo.value.code


def test_root_certificate(root: Authority) -> None:
    cert = root.certificate
    assert cert.subject.rfc4514_string() == "CN=sleutel Test Root CA,O=sleutel sandbox,C=BE"
    assert cert.issuer == cert.subject
    cert.verify_directly_issued_by(cert)
    constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical
    assert constraints.value.ca and constraints.value.path_length == 1
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign and usage.crl_sign and not usage.digital_signature
    assert cert.not_valid_before_utc == NOW
    assert cert.not_valid_after_utc == NOW.replace(year=2046)
    key = cert.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    assert isinstance(key.curve, ec.SECP256R1)


def test_citizen_ca_certificate(root: Authority, citizen_ca: Authority) -> None:
    cert = citizen_ca.certificate
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Citizen CA"
    assert cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)[0].value == "sleutel-test"
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == (
        "sleutel sandbox"
    )
    assert cert.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value == "BE"
    assert cert.issuer == root.certificate.subject
    cert.verify_directly_issued_by(root.certificate)
    constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert constraints.ca and constraints.path_length == 0
    assert cert.not_valid_after_utc == NOW.replace(year=2036)


def test_leap_day_validity() -> None:
    leap = datetime(2028, 2, 29, 12, 0, tzinfo=UTC)
    assert create_root(leap).certificate.not_valid_after_utc == datetime(
        2048, 2, 29, 12, 0, tzinfo=UTC
    )
    ca = create_citizen_ca(create_root(leap), leap)
    assert ca.certificate.not_valid_after_utc == datetime(2038, 2, 28, 12, 0, tzinfo=UTC)


def test_card_certificates(card: CardKeys, citizen_ca: Authority) -> None:
    def attr(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> object:
        return cert.subject.get_attributes_for_oid(oid)[0].value

    for cert, role in [(card.auth_cert, "Authentication"), (card.sign_cert, "Signature")]:
        assert attr(cert, NameOID.COMMON_NAME) == f"Jan Peeters ({role})"
        assert attr(cert, NameOID.SURNAME) == "Peeters"
        assert attr(cert, NameOID.GIVEN_NAME) == "Jan Pieter"
        assert attr(cert, NameOID.SERIAL_NUMBER) == "85073003328"
        assert attr(cert, NameOID.COUNTRY_NAME) == "BE"
        assert cert.issuer == citizen_ca.certificate.subject
        assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        assert cert.not_valid_before_utc == NOW
        assert cert.not_valid_after_utc == NOW + timedelta(days=3650)

    auth_usage = card.auth_cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert auth_usage.digital_signature and not auth_usage.content_commitment
    eku = card.auth_cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.CLIENT_AUTH in eku

    sign_usage = card.sign_cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert sign_usage.content_commitment and not sign_usage.digital_signature

    assert card.auth_key.public_key() == card.auth_cert.public_key()
    assert card.sign_key.public_key() == card.sign_cert.public_key()
    assert isinstance(card.auth_key.curve, ec.SECP256R1)
    assert card.auth_key.private_numbers() != card.sign_key.private_numbers()


def test_chain_verifies(root: Authority, citizen_ca: Authority, card: CardKeys) -> None:
    _verify(card.sign_cert, sign(card.sign_key, DATA), root=root, citizen_ca=citizen_ca)
    _verify(
        card.auth_cert,
        sign(card.auth_key, DATA),
        root=root,
        citizen_ca=citizen_ca,
        purpose="authentication",
    )


def test_tampered_data_is_invalid_signature(
    root: Authority, citizen_ca: Authority, card: CardKeys
) -> None:
    signature = sign(card.sign_key, DATA)
    with pytest.raises(InvalidInput) as caught:
        _verify(card.sign_cert, signature, root=root, citizen_ca=citizen_ca, data=DATA + b"!")
    assert _code(caught) == "invalid_signature"
    with pytest.raises(InvalidInput) as caught:
        _verify(card.sign_cert, b"not a signature", root=root, citizen_ca=citizen_ca)
    assert _code(caught) == "invalid_signature"


def test_signature_by_another_key_is_invalid(
    root: Authority, citizen_ca: Authority, card: CardKeys
) -> None:
    # A valid certificate presented with someone else's signature.
    with pytest.raises(InvalidInput) as caught:
        _verify(card.sign_cert, sign(card.auth_key, DATA), root=root, citizen_ca=citizen_ca)
    # The signature certificate is fine; the signature is not its key's.
    assert _code(caught) == "invalid_signature"


def test_certificate_from_another_root_is_untrusted(root: Authority, citizen_ca: Authority) -> None:
    other_root = create_root(NOW)
    other_ca = create_citizen_ca(other_root, NOW)
    other = issue_card_certificates(
        other_ca,
        first_names="Eve",
        last_name="Mallory",
        national_number="85073003328",
        valid_from=NOW,
        valid_until=NOW + timedelta(days=3650),
    )
    signature = sign(other.sign_key, DATA)
    # Same subject names as the trusted chain, different keys.
    assert other_ca.certificate.subject == citizen_ca.certificate.subject
    with pytest.raises(InvalidInput) as caught:
        _verify(other.sign_cert, signature, root=root, citizen_ca=citizen_ca)
    assert _code(caught) == "untrusted_certificate"
    with pytest.raises(InvalidInput) as caught:
        _verify(other.sign_cert, signature, root=root, citizen_ca=other_ca)
    assert _code(caught) == "untrusted_certificate"
    # It does verify against its own root.
    _verify(other.sign_cert, signature, root=other_root, citizen_ca=other_ca)


def test_missing_intermediate_is_untrusted(root: Authority, card: CardKeys) -> None:
    with pytest.raises(InvalidInput) as caught:
        verify_signature(
            card.sign_cert,
            DATA,
            sign(card.sign_key, DATA),
            chain=[],
            roots=[root.certificate],
            at=NOW + timedelta(days=1),
            purpose="signature",
        )
    assert _code(caught) == "untrusted_certificate"


def test_no_roots_is_untrusted(citizen_ca: Authority, card: CardKeys) -> None:
    with pytest.raises(InvalidInput) as caught:
        verify_signature(
            card.sign_cert,
            DATA,
            sign(card.sign_key, DATA),
            chain=[citizen_ca.certificate],
            roots=[],
            at=NOW + timedelta(days=1),
            purpose="signature",
        )
    assert _code(caught) == "untrusted_certificate"


def test_expired_and_not_yet_valid_card_refused(
    root: Authority, citizen_ca: Authority, card: CardKeys
) -> None:
    signature = sign(card.sign_key, DATA)
    for at in [NOW + timedelta(days=3650, seconds=1), NOW - timedelta(seconds=1)]:
        with pytest.raises(InvalidInput) as caught:
            _verify(card.sign_cert, signature, root=root, citizen_ca=citizen_ca, at=at)
        assert _code(caught) == "untrusted_certificate"
    _verify(
        card.sign_cert, signature, root=root, citizen_ca=citizen_ca, at=NOW + timedelta(days=3650)
    )


def test_card_outliving_its_ca_is_refused_after_the_ca_expires(
    root: Authority, citizen_ca: Authority
) -> None:
    long = issue_card_certificates(
        citizen_ca,
        first_names="Jan",
        last_name="Peeters",
        national_number="85073003328",
        valid_from=NOW,
        valid_until=NOW + timedelta(days=365 * 15),
    )
    signature = sign(long.sign_key, DATA)
    at = NOW + timedelta(days=365 * 12)
    with pytest.raises(InvalidInput) as caught:
        _verify(long.sign_cert, signature, root=root, citizen_ca=citizen_ca, at=at)
    assert _code(caught) == "untrusted_certificate"


def test_auth_key_cannot_pass_as_signature(
    root: Authority, citizen_ca: Authority, card: CardKeys
) -> None:
    with pytest.raises(InvalidInput) as caught:
        _verify(card.auth_cert, sign(card.auth_key, DATA), root=root, citizen_ca=citizen_ca)
    assert _code(caught) == "untrusted_certificate"
    with pytest.raises(InvalidInput) as caught:
        _verify(
            card.sign_cert,
            sign(card.sign_key, DATA),
            root=root,
            citizen_ca=citizen_ca,
            purpose="authentication",
        )
    assert _code(caught) == "untrusted_certificate"


def test_ca_certificate_cannot_sign_data(root: Authority, citizen_ca: Authority) -> None:
    with pytest.raises(InvalidInput) as caught:
        _verify(
            citizen_ca.certificate,
            sign(citizen_ca.key, DATA),
            root=root,
            citizen_ca=citizen_ca,
        )
    assert _code(caught) == "untrusted_certificate"


def test_naive_datetimes_and_empty_validity_refused(citizen_ca: Authority) -> None:
    with pytest.raises(ValueError):
        create_root(datetime(2026, 1, 5))
    with pytest.raises(ValueError):
        issue_card_certificates(
            citizen_ca,
            first_names="Jan",
            last_name="Peeters",
            national_number="85073003328",
            valid_from=datetime(2026, 1, 5),
            valid_until=NOW + timedelta(days=1),
        )
    with pytest.raises(ValueError):
        issue_card_certificates(
            citizen_ca,
            first_names="Jan",
            last_name="Peeters",
            national_number="85073003328",
            valid_from=NOW,
            valid_until=NOW - timedelta(days=1),
        )


def test_key_pem_round_trip(card: CardKeys) -> None:
    plain = key_to_pem(card.sign_key, None)
    assert plain.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert key_from_pem(plain, None).private_numbers() == card.sign_key.private_numbers()

    encrypted = key_to_pem(card.sign_key, b"correct horse")
    assert encrypted.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    loaded = key_from_pem(encrypted, b"correct horse")
    assert loaded.private_numbers() == card.sign_key.private_numbers()

    for pem, password in [
        (encrypted, b"wrong"),
        (encrypted, None),
        (plain, b"unneeded"),
        (b"garbage", None),
    ]:
        with pytest.raises(InvalidInput) as caught:
            key_from_pem(pem, password)
        assert _code(caught) == "invalid_key"


def test_cert_pem_round_trip(card: CardKeys) -> None:
    pem = cert_to_pem(card.auth_cert)
    assert pem.startswith(b"-----BEGIN CERTIFICATE-----")
    assert cert_from_pem(pem) == card.auth_cert
    with pytest.raises(InvalidInput) as caught:
        cert_from_pem(b"garbage")
    assert _code(caught) == "invalid_certificate"
