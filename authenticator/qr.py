"""QR codes: read otpauth URIs from images (zxing-cpp) and render them (segno) as PNG or text."""

from __future__ import annotations

import io
import os
from pathlib import Path

import segno
import zxingcpp
from PIL import Image, UnidentifiedImageError

from authenticator.errors import NoQrCode, UnreadableImage

OTP_PREFIXES = ("otpauth://", "otpauth-migration://")


def _load(source: str | os.PathLike[str] | bytes | Image.Image) -> Image.Image:
    if isinstance(source, Image.Image):
        image = source
    else:
        try:
            data = source if isinstance(source, bytes) else Path(source).read_bytes()
            with Image.open(io.BytesIO(data)) as opened:
                opened.load()
                image = opened.copy()
        except (UnidentifiedImageError, OSError, ValueError) as exc:
            raise UnreadableImage(f"cannot read an image from {_describe(source)}") from exc
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        # Transparent pixels of a screenshot would turn black in greyscale; put them on white.
        backdrop = Image.new("RGBA", image.size, "white")
        backdrop.alpha_composite(image.convert("RGBA"))
        image = backdrop
    return image.convert("L")


def _describe(source: object) -> str:
    return "the given bytes" if isinstance(source, bytes) else str(source)


def read_texts(source: str | os.PathLike[str] | bytes | Image.Image) -> list[str]:
    """The text of every code in the image (a QR alone, or a screenshot of a page holding one),
    in reading order, without repeats or empty ones; [] when there is none. Shared by the
    authenticator (otpauth URIs) and the identity app's "Scan QR" (itsme user discovery)."""
    # All formats, filtered by content: the format enum changed shape between zxing-cpp releases.
    found: list[str] = []
    for barcode in zxingcpp.read_barcodes(_load(source)):
        text = str(barcode.text).strip()
        if text and text not in found:
            found.append(text)
    return found


def read_uris(source: str | os.PathLike[str] | bytes | Image.Image) -> list[str]:
    """Every otpauth / otpauth-migration URI in the image, in reading order, without repeats."""
    texts = read_texts(source)
    found = [text for text in texts if text.lower().startswith(OTP_PREFIXES)]
    if not found:
        detail = f"{len(texts)} QR code(s), none with an otpauth URI" if texts else "none"
        raise NoQrCode(f"no otpauth QR code in {_describe(source)} (found {detail})")
    return found


def _qr(uri: str) -> segno.QRCode:
    # Medium error correction: survives JPEG artefacts and screen moiré at a modest size.
    return segno.make_qr(uri, error="m", boost_error=False)


def to_png_bytes(uri: str, scale: int = 8, border: int = 4) -> bytes:
    buffer = io.BytesIO()
    _qr(uri).save(buffer, kind="png", scale=scale, border=border)
    return buffer.getvalue()


def save_png(uri: str, path: str | os.PathLike[str], scale: int = 8) -> None:
    """Write the QR as PNG, readable by the owner only: the image holds the secret."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(to_png_bytes(uri, scale=scale))


def to_terminal_text(uri: str, border: int = 2, dark_terminal: bool = True) -> str:
    """Two modules per character cell using half blocks, so the code is about square on screen.

    On a light-on-dark terminal (`dark_terminal`) the blocks paint the *light* modules, so the
    phone still sees dark modules on a light background.
    """
    rows = [list(row) for row in _qr(uri).matrix_iter(scale=1, border=border)]
    if len(rows) % 2:
        rows.append([0] * len(rows[0]))  # pad with a light row; a border follows anyway
    glyphs = {(True, True): "█", (True, False): "▀", (False, True): "▄", (False, False): " "}
    lines = []
    for top, bottom in zip(rows[0::2], rows[1::2], strict=True):
        painted = [
            (bool(upper) != dark_terminal, bool(lower) != dark_terminal)
            for upper, lower in zip(top, bottom, strict=True)
        ]
        lines.append("".join(glyphs[cell] for cell in painted))
    return "\n".join(lines)
