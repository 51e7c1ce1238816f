"""QR rendering (segno) and reading (zxing-cpp), including codes buried in noisy screenshots."""

from __future__ import annotations

import io
import random
from collections.abc import Sequence
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image, ImageDraw

from authenticator.errors import NoQrCode, UnreadableImage
from authenticator.qr import read_uris, save_png, to_png_bytes, to_terminal_text

URI = (
    "otpauth://totp/CSAM:alice%40example.be?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
    "&issuer=CSAM&algorithm=SHA1&digits=6&period=30"
)
MIGRATION = "otpauth-migration://offline?data=CjkKFD3GyqSCSm0oh2eyMx4gtDFmy4XZEAEYAQ%3D%3D"


def test_png_round_trip() -> None:
    png = to_png_bytes(URI, scale=4)
    assert png.startswith(b"\x89PNG")
    assert read_uris(png) == [URI]


def test_save_png_is_private_and_decodes(tmp_path: Path) -> None:
    path = tmp_path / "code.png"
    save_png(URI, path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert read_uris(path) == [URI]
    assert read_uris(str(path)) == [URI]


def noisy_screenshot(qr_png: bytes, extra: Sequence[bytes] = ()) -> Image.Image:
    """A 1200x900 'web page': noise, shapes, text and a non-otpauth QR around the real one."""
    rng = random.Random(1234)
    canvas = Image.effect_noise((1200, 900), 40).convert("RGB")
    draw = ImageDraw.Draw(canvas)
    for _ in range(60):
        x, y = rng.randrange(1200), rng.randrange(900)
        colour = tuple(rng.randrange(256) for _ in range(3))
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape((x, y, x + rng.randrange(10, 120), y + rng.randrange(10, 80)), fill=colour)
    for line in range(20):
        draw.text(
            (20, 20 + line * 40), "Scan this code with your authenticator app " * 3, fill="black"
        )
    draw.rectangle((380, 220, 760, 600), fill="white")  # the page's white card behind the QR
    canvas.paste(Image.open(io.BytesIO(qr_png)), (400, 240))
    decoy = Image.open(io.BytesIO(to_png_bytes("https://csam.example.be/help", scale=3)))
    canvas.paste(decoy, (900, 600))
    for index, png in enumerate(extra):
        canvas.paste(Image.open(io.BytesIO(png)), (40 + index * 20, 560))
    return canvas


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_reads_qr_inside_noisy_screenshot(tmp_path: Path, fmt: str) -> None:
    image = noisy_screenshot(to_png_bytes(URI, scale=4))
    path = tmp_path / f"screenshot.{fmt.lower()}"
    image.save(path, format=fmt, **({"quality": 80} if fmt == "JPEG" else {}))
    assert read_uris(path) == [URI]


def test_reads_several_codes_including_migration() -> None:
    image = noisy_screenshot(to_png_bytes(URI, scale=4), [to_png_bytes(MIGRATION, scale=4)])
    assert sorted(read_uris(image)) == sorted([URI, MIGRATION])


def test_transparent_png_is_read_on_white() -> None:
    grey = Image.open(io.BytesIO(to_png_bytes(URI, scale=4))).convert("L")
    # Black modules on fully transparent (black, alpha 0) light modules, as some sites serve.
    qr = Image.new("RGBA", grey.size, (0, 0, 0, 0))
    qr.putalpha(grey.point(lambda value: 0 if value >= 128 else 255))
    buffer = io.BytesIO()
    qr.save(buffer, format="PNG")
    assert read_uris(buffer.getvalue()) == [URI]


def test_no_otpauth_code(tmp_path: Path) -> None:
    blank = tmp_path / "blank.png"
    Image.new("RGB", (300, 300), "white").save(blank)
    with pytest.raises(NoQrCode, match="none"):
        read_uris(blank)
    other = tmp_path / "other.png"
    other.write_bytes(to_png_bytes("https://example.org/"))
    with pytest.raises(NoQrCode, match="1 QR code"):
        read_uris(other)


def test_not_an_image(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(UnreadableImage):
        read_uris(text)
    with pytest.raises(UnreadableImage):
        read_uris(tmp_path / "missing.png")


def terminal_text_to_image(text: str, dark_terminal: bool) -> Image.Image:
    """Rebuild module pixels from half-block glyphs, as a phone camera would see the screen."""
    halves = {"█": (True, True), "▀": (True, False), "▄": (False, True), " ": (False, False)}
    rows: list[list[bool]] = []
    for line in text.split("\n"):
        cells = [halves[ch] for ch in line]
        rows.append([top for top, _ in cells])
        rows.append([bottom for _, bottom in cells])
    image = Image.new("L", (len(rows[0]), len(rows)))
    # On a dark terminal painted cells are light; on a light terminal they are dark.
    image.putdata(
        [
            (255 if dark_terminal else 0) if p else (0 if dark_terminal else 255)
            for row in rows
            for p in row
        ]
    )
    return image.resize((image.width * 8, image.height * 8), Image.Resampling.NEAREST)


@pytest.mark.parametrize("dark_terminal", [True, False])
def test_terminal_rendering_decodes(dark_terminal: bool) -> None:
    text = to_terminal_text(URI, dark_terminal=dark_terminal)
    lines = text.split("\n")
    assert set(text) <= set("▀▄█ \n")
    assert len({len(line) for line in lines}) == 1
    # Two module rows per line: on a ~1:2 character cell the code comes out about square.
    assert abs(len(lines[0]) - 2 * len(lines)) <= 1
    image = terminal_text_to_image(text, dark_terminal)
    decoded = zxingcpp.read_barcodes(image, try_invert=False)
    assert [barcode.text for barcode in decoded] == [URI]
