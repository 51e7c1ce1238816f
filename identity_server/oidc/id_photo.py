"""A person's ID photo for the sandbox: a small JPEG drawn from the person's national number, so
the same person always gets the same picture and two people rarely the same one. It stands in for
the photo itsme reads from the ID document ("converted to always return a 200x140 px, 24 BPP JPEG
image", itsme doc, Claims, physical_person_photo)."""

from __future__ import annotations

import hashlib
import io
from functools import lru_cache

WIDTH, HEIGHT = 140, 200  # a portrait: itsme's 200x140 px read as height x width
MIME = "image/jpeg"


@lru_cache(maxsize=64)
def jpeg(seed: str) -> bytes:
    """A 24-bit JPEG portrait (background, shoulders, face, hair) whose colours and proportions
    come from `seed`; the same seed always gives the same bytes."""
    from PIL import Image, ImageDraw

    d = hashlib.sha256(seed.encode()).digest()
    background = (200 + d[0] % 50, 205 + d[1] % 45, 210 + d[2] % 40)  # pale, as on an eID
    skins = ((241, 204, 177), (224, 172, 138), (198, 134, 103), (141, 85, 60), (92, 58, 40))
    hairs = ((40, 30, 25), (90, 60, 35), (160, 120, 70), (210, 180, 120), (120, 120, 120))
    skin, hair = skins[d[3] % len(skins)], hairs[d[4] % len(hairs)]
    shirt = (d[5] % 120, d[6] % 120, 60 + d[7] % 140)
    image = Image.new("RGB", (WIDTH, HEIGHT), background)
    draw = ImageDraw.Draw(image)
    face_w, face_h = 58 + d[8] % 14, 74 + d[9] % 14
    cx, top = WIDTH // 2, 38 + d[10] % 10
    draw.ellipse((cx - 62, HEIGHT - 48, cx + 62, HEIGHT + 60), fill=shirt)  # shoulders
    draw.rectangle((cx - 12, top + face_h - 10, cx + 12, HEIGHT - 40), fill=skin)  # neck
    draw.ellipse(
        (cx - face_w // 2 - 4, top - 12, cx + face_w // 2 + 4, top + face_h // 2), fill=hair
    )
    draw.ellipse((cx - face_w // 2, top, cx + face_w // 2, top + face_h), fill=skin)
    eye_y = top + face_h * 2 // 5
    for dx in (-face_w // 5, face_w // 5):
        draw.ellipse((cx + dx - 4, eye_y - 3, cx + dx + 4, eye_y + 3), fill=(50, 40, 35))
    mouth_y = top + face_h * 3 // 4
    draw.line((cx - 10, mouth_y, cx + 10, mouth_y), fill=(150, 80, 70), width=2)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=80)
    return out.getvalue()
