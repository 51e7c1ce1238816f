"""The Google Authenticator MigrationPayload protobuf schema, built at runtime (no protoc)."""

from __future__ import annotations

import importlib
from typing import Any

# protobuf ships no type information; going through importlib types these modules as Any
# explicitly instead of sprinkling ignores that break once someone installs types-protobuf.
_descriptor_pb2: Any = importlib.import_module("google.protobuf.descriptor_pb2")
_descriptor_pool: Any = importlib.import_module("google.protobuf.descriptor_pool")
_message_factory: Any = importlib.import_module("google.protobuf.message_factory")
DecodeError: Any = importlib.import_module("google.protobuf.message").DecodeError


def _build_payload_class() -> Any:
    """The MigrationPayload message, described at runtime so no protoc step is needed."""
    fdp = _descriptor_pb2.FieldDescriptorProto
    file = _descriptor_pb2.FileDescriptorProto(
        name="sleutel/authenticator/migration.proto", package="googleauth", syntax="proto3"
    )
    payload = file.message_type.add(name="MigrationPayload")
    for enum_name, values in (
        ("Algorithm", ["UNSPECIFIED", "SHA1", "SHA256", "SHA512", "MD5"]),
        ("DigitCount", ["UNSPECIFIED", "SIX", "EIGHT"]),
        ("OtpType", ["UNSPECIFIED", "HOTP", "TOTP"]),
    ):
        enum = payload.enum_type.add(name=enum_name)
        for number, value in enumerate(values):
            prefix = "ALGORITHM" if enum_name == "Algorithm" else enum_name.upper()
            enum.value.add(name=f"{prefix}_{value}", number=number)
    params = payload.nested_type.add(name="OtpParameters")
    scalar = fdp.LABEL_OPTIONAL
    for number, (name, kind, type_name) in enumerate(
        [
            ("secret", fdp.TYPE_BYTES, None),
            ("name", fdp.TYPE_STRING, None),
            ("issuer", fdp.TYPE_STRING, None),
            ("algorithm", fdp.TYPE_ENUM, ".googleauth.MigrationPayload.Algorithm"),
            ("digits", fdp.TYPE_ENUM, ".googleauth.MigrationPayload.DigitCount"),
            ("type", fdp.TYPE_ENUM, ".googleauth.MigrationPayload.OtpType"),
            ("counter", fdp.TYPE_INT64, None),
        ],
        start=1,
    ):
        field = params.field.add(name=name, number=number, type=kind, label=scalar)
        if type_name:
            field.type_name = type_name
    payload.field.add(
        name="otp_parameters",
        number=1,
        type=fdp.TYPE_MESSAGE,
        label=fdp.LABEL_REPEATED,
        type_name=".googleauth.MigrationPayload.OtpParameters",
    )
    for number, name in enumerate(["version", "batch_size", "batch_index", "batch_id"], start=2):
        payload.field.add(name=name, number=number, type=fdp.TYPE_INT32, label=scalar)
    # A private pool: the process-wide default pool may already hold another "googleauth".
    pool = _descriptor_pool.DescriptorPool()
    pool.Add(file)
    return _message_factory.GetMessageClass(
        pool.FindMessageTypeByName("googleauth.MigrationPayload")
    )


MigrationPayload: Any = _build_payload_class()
