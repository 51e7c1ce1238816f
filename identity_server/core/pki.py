"""The sandbox's test PKI: a root, a Citizen CA, eID card certificates, signing and verifying."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property, lru_cache
from typing import Literal, TypeVar

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import (
    ExtensionPolicy,
    PolicyBuilder,
    Store,
    VerificationError,
)

from identity_server.error_codes import (
    INVALID_CERTIFICATE,
    INVALID_KEY,
    INVALID_SIGNATURE,
    UNTRUSTED_CERTIFICATE,
)

from .errors import InvalidInput

Purpose = Literal["signature", "authentication"]
_Ext = TypeVar("_Ext", bound=x509.ExtensionType)

ROOT_NAME = x509.Name(
    [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "BE"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sleutel sandbox"),
        x509.NameAttribute(NameOID.COMMON_NAME, "sleutel Test Root CA"),
    ]
)
CITIZEN_CA_NAME = x509.Name(
    [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "BE"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sleutel sandbox"),
        x509.NameAttribute(NameOID.SERIAL_NUMBER, "sleutel-test"),
        x509.NameAttribute(NameOID.COMMON_NAME, "Citizen CA"),
    ]
)

# Intermediates allowed between card and root: only the Citizen CA is ever issued.
_MAX_CHAIN_DEPTH = 1


@dataclass(frozen=True)
class Authority:
    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate

    # What every certificate it issues names of it, worked out once rather than per certificate
    # (two per eID card): its subject as issuer, its public key's identifier.
    @cached_property
    def subject(self) -> x509.Name:
        return self.certificate.subject

    @cached_property
    def key_identifier(self) -> x509.AuthorityKeyIdentifier:
        return x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key())

    @cached_property
    def pems(self) -> tuple[bytes, bytes]:
        """Its key and certificate in PEM, what a worker process is given to issue with."""
        return key_to_pem(self.key, None), cert_to_pem(self.certificate)


@dataclass(frozen=True)
class CardKeys:
    """The two key pairs of an eID card: one to log in with, one for qualified signatures."""

    auth_key: ec.EllipticCurvePrivateKey
    auth_cert: x509.Certificate
    sign_key: ec.EllipticCurvePrivateKey
    sign_cert: x509.Certificate


def _aware(when: datetime, what: str) -> datetime:
    if when.tzinfo is None:
        raise ValueError(f"{what} must be timezone-aware")
    return when


def _add_years(when: datetime, years: int) -> datetime:
    try:
        return when.replace(year=when.year + years)
    except ValueError:
        # 29 February in a year that has none.
        return when.replace(year=when.year + years, day=28)


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


_CA_KEY_USAGE = x509.KeyUsage(
    digital_signature=False,
    content_commitment=False,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=True,
    crl_sign=True,
    encipher_only=False,
    decipher_only=False,
)


def _ca_certificate(
    subject: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    issuer: Authority | None,
    path_length: int,
    not_before: datetime,
    not_after: datetime,
) -> x509.Certificate:
    signer_key = key if issuer is None else issuer.key
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject if issuer is None else issuer.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(_CA_KEY_USAGE, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer_key.public_key()),
            critical=False,
        )
    )
    return builder.sign(signer_key, hashes.SHA256())


def create_root(now: datetime) -> Authority:
    """A self-signed root, valid 20 years from `now`."""
    _aware(now, "now")
    key = _new_key()
    cert = _ca_certificate(ROOT_NAME, key, None, 1, now, _add_years(now, 20))
    return Authority(key, cert)


def create_citizen_ca(root: Authority, now: datetime) -> Authority:
    """The intermediate that issues card certificates, valid 10 years from `now`."""
    _aware(now, "now")
    key = _new_key()
    cert = _ca_certificate(CITIZEN_CA_NAME, key, root, 0, now, _add_years(now, 10))
    return Authority(key, cert)


def _card_subject(first_names: str, last_name: str, national_number: str, role: str) -> x509.Name:
    # Like a real eID, the common name carries only the first given name; GN carries them all.
    first = first_names.split()[0]
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "BE"),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, national_number),
            x509.NameAttribute(NameOID.GIVEN_NAME, first_names),
            x509.NameAttribute(NameOID.SURNAME, last_name),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{first} {last_name} ({role})"),
        ]
    )


def _key_usage(*, digital_signature: bool, content_commitment: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=content_commitment,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


_END_ENTITY = x509.BasicConstraints(ca=False, path_length=None)


def _card_certificate(
    ca: Authority,
    subject: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    key_usage: x509.KeyUsage,
    eku: Sequence[x509.ObjectIdentifier],
    valid_from: datetime,
    valid_until: datetime,
) -> x509.Certificate:
    public_key = key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(valid_from)
        .not_valid_after(valid_until)
        .add_extension(_END_ENTITY, critical=True)
        .add_extension(key_usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(ca.key_identifier, critical=False)
    )
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(eku)), critical=False)
    return builder.sign(ca.key, hashes.SHA256())


def issue_card_certificates(
    ca: Authority,
    *,
    first_names: str,
    last_name: str,
    national_number: str,
    valid_from: datetime,
    valid_until: datetime,
) -> CardKeys:
    """Fresh authentication and signature key pairs with certificates, as on a new eID card."""
    _aware(valid_from, "valid_from")
    _aware(valid_until, "valid_until")
    if not first_names.strip() or not last_name.strip():
        raise ValueError("a card certificate needs first names and a last name")
    if not national_number:
        raise ValueError("a card certificate needs the national number")
    if valid_until <= valid_from:
        raise ValueError("valid_until must be after valid_from")
    first_names, last_name = first_names.strip(), last_name.strip()

    auth_key, sign_key = _new_key(), _new_key()
    auth_cert = _card_certificate(
        ca,
        _card_subject(first_names, last_name, national_number, "Authentication"),
        auth_key,
        _key_usage(digital_signature=True, content_commitment=False),
        [ExtendedKeyUsageOID.CLIENT_AUTH],
        valid_from,
        valid_until,
    )
    sign_cert = _card_certificate(
        ca,
        _card_subject(first_names, last_name, national_number, "Signature"),
        sign_key,
        _key_usage(digital_signature=False, content_commitment=True),
        [],
        valid_from,
        valid_until,
    )
    return CardKeys(auth_key, auth_cert, sign_key, sign_cert)


@dataclass(frozen=True)
class CardPems:
    """`CardKeys` as PKCS#8 and certificate PEM: what a worker process hands back."""

    auth_key: bytes
    auth_cert: bytes
    sign_key: bytes
    sign_cert: bytes


@lru_cache(maxsize=4)
def _authority_from_pems(key_pem: bytes, cert_pem: bytes) -> Authority:
    # A worker is given the CA's PEM with each card: it loads (and keeps) the CA once.
    return Authority(key_from_pem(key_pem, None), cert_from_pem(cert_pem))


def issue_card_pems(
    ca_key_pem: bytes,
    ca_cert_pem: bytes,
    *,
    first_names: str,
    last_name: str,
    national_number: str,
    valid_from: datetime,
    valid_until: datetime,
) -> CardPems:
    """`issue_card_certificates` by the CA given as `Authority.pems`, in PEM: arguments and
    answer a process pool can carry (core/offload.py), as key objects cannot be pickled."""
    keys = issue_card_certificates(
        _authority_from_pems(ca_key_pem, ca_cert_pem),
        first_names=first_names,
        last_name=last_name,
        national_number=national_number,
        valid_from=valid_from,
        valid_until=valid_until,
    )
    return CardPems(
        key_to_pem(keys.auth_key, None),
        cert_to_pem(keys.auth_cert),
        key_to_pem(keys.sign_key, None),
        cert_to_pem(keys.sign_cert),
    )


def sign(key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    """ECDSA with SHA-256; the signature is DER-encoded."""
    return key.sign(data, ec.ECDSA(hashes.SHA256()))


def _untrusted(reason: str) -> InvalidInput:
    return InvalidInput(
        f"The certificate is not trusted: {reason}.", code=UNTRUSTED_CERTIFICATE, reason=reason
    )


def _extension(cert: x509.Certificate, kind: type[_Ext]) -> _Ext | None:
    try:
        return cert.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def _check_purpose(cert: x509.Certificate, purpose: Purpose) -> None:
    constraints = _extension(cert, x509.BasicConstraints)
    if constraints is not None and constraints.ca:
        raise _untrusted("a CA certificate cannot sign data")
    usage = _extension(cert, x509.KeyUsage)
    if usage is None:
        raise _untrusted("the certificate has no key usage")
    if purpose == "signature":
        if not usage.content_commitment:
            raise _untrusted("the certificate is not for signatures")
    else:
        if not usage.digital_signature:
            raise _untrusted("the certificate is not for authentication")
        eku = _extension(cert, x509.ExtendedKeyUsage)
        if eku is not None and ExtendedKeyUsageOID.CLIENT_AUTH not in eku:
            raise _untrusted("the certificate is not for client authentication")


def _check_chain(
    cert: x509.Certificate,
    chain: Sequence[x509.Certificate],
    roots: Sequence[x509.Certificate],
    at: datetime,
) -> None:
    if not roots:
        raise _untrusted("no trusted roots")
    # The CAs must meet the web-PKI CA profile (basicConstraints, keyCertSign, path length);
    # the card certificate is checked for its purpose separately, since a signature
    # certificate carries no TLS extended key usage.
    verifier = (
        PolicyBuilder()
        .store(Store(list(roots)))
        .time(at)
        .max_chain_depth(_MAX_CHAIN_DEPTH)
        .extension_policies(
            ca_policy=ExtensionPolicy.webpki_defaults_ca(),
            ee_policy=ExtensionPolicy.permit_all(),
        )
        .build_client_verifier()
    )
    try:
        verifier.verify(cert, list(chain))
    except VerificationError as exc:
        raise _untrusted(str(exc)) from exc


def verify_signature(
    cert: x509.Certificate,
    data: bytes,
    signature: bytes,
    *,
    chain: Sequence[x509.Certificate],
    roots: Sequence[x509.Certificate],
    at: datetime,
    purpose: Purpose,
) -> None:
    """Check that `cert` is trusted for `purpose` at `at`, and that it signed `data`.

    Raises InvalidInput: `untrusted_certificate` when the certificate does not chain to one of
    `roots` through `chain`, is outside its validity at `at` or is not meant for `purpose`;
    `invalid_signature` when the signature does not match the data.
    """
    _aware(at, "at")
    _check_purpose(cert, purpose)
    _check_chain(cert, chain, roots, at)
    public_key = cert.public_key()
    if not isinstance(public_key, ec.EllipticCurvePublicKey):
        raise _untrusted("the certificate key is not an EC key")
    try:
        public_key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as exc:
        raise InvalidInput(
            "The signature does not match the data.", code=INVALID_SIGNATURE.with_status(400)
        ) from exc


def key_to_pem(key: ec.EllipticCurvePrivateKey, password: bytes | None) -> bytes:
    """PKCS#8 PEM, encrypted with the best available scheme when a password is given."""
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def key_from_pem(pem: bytes, password: bytes | None) -> ec.EllipticCurvePrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password)
    except (ValueError, TypeError) as exc:
        # Wrong or missing password, or not a key at all.
        raise InvalidInput("The private key cannot be read.", code=INVALID_KEY) from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise InvalidInput("The private key is not an EC key.", code=INVALID_KEY)
    return key


def cert_to_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def cert_from_pem(pem: bytes) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(pem)
    except ValueError as exc:
        raise InvalidInput("The certificate cannot be read.", code=INVALID_CERTIFICATE) from exc
