"""The icon to match, drawn for a terminal: the server's own SVG icon set, rasterised into
half-block characters (▀ ▄ █, code page 437: every terminal font has them, unlike emoji),
with the icon's name from the shared `icons` catalog in the phone's language.

The phone and the website must show the SAME picture, so there is one drawing per icon: the
SVG file the pages inline (identity_server/web/static/icons/). The phone reads those files as
shipped data, like an app ships its assets, and the names through the one translation system
(identity_server.i18n); it imports no server code (tests/simulator/test_contract_hygiene.py).
The files use a small subset of SVG (circle, ellipse, rect, polygon, polyline, line; fill,
stroke, stroke-width), which is all this reads:
an element outside it is an error, caught by the icon tests, not a silently missing part.
"""

from __future__ import annotations

import functools
import itertools
import math
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from rich.text import Text

from identity_server import i18n

_SHARED = resources.files("identity_server")
ICON_DIR = Path(str(_SHARED / "web" / "static" / "icons"))
_SVG = "{http://www.w3.org/2000/svg}"
PAPER = "#ffffff"  # drawn in the page's colour: a hole (a window, an eye), not ink
COLUMNS, ROWS = 14, 7  # a half-block cell holds two square pixels: 14 × 14 pixels
_SAMPLES = 4  # per pixel side: coverage decides whether a pixel is inked

Inside = Callable[[float, float], bool]


@dataclass(frozen=True)
class Shape:
    colour: str
    inside: Inside


def _near_segments(points: list[tuple[float, float]], half_width: float) -> Inside:
    segments = list(itertools.pairwise(points))

    def inside(x: float, y: float) -> bool:
        for (x1, y1), (x2, y2) in segments:
            dx, dy = x2 - x1, y2 - y1
            length = dx * dx + dy * dy
            t = 0.0 if length == 0 else max(0.0, min(1.0, ((x - x1) * dx + (y - y1) * dy) / length))
            if math.hypot(x - (x1 + t * dx), y - (y1 + t * dy)) <= half_width:
                return True
        return False

    return inside


def _in_polygon(points: list[tuple[float, float]]) -> Inside:
    def inside(x: float, y: float) -> bool:
        crossings = False
        for (x1, y1), (x2, y2) in zip(points, points[1:] + points[:1], strict=True):
            if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
                crossings = not crossings
        return crossings

    return inside


def _ellipse(cx: float, cy: float, rx: float, ry: float, stroke: float | None) -> Inside:
    def inside(x: float, y: float) -> bool:
        reach = math.hypot((x - cx) / rx, (y - cy) / ry)
        if stroke is None:
            return reach <= 1
        return abs(reach - 1) * min(rx, ry) <= stroke / 2

    return inside


def _points(raw: str) -> list[tuple[float, float]]:
    numbers = [float(n) for n in raw.replace(",", " ").split()]
    return list(zip(numbers[::2], numbers[1::2], strict=True))


def _shapes(element: ET.Element) -> list[Shape]:
    """One element as up to two shapes: its fill, then its stroke (SVG's painting order)."""
    tag = element.tag.removeprefix(_SVG)
    a = element.attrib

    def number(attribute: str, default: str) -> float:
        return float(a.get(attribute, default))

    fill, stroke = a.get("fill", "#000000"), a.get("stroke")
    width = number("stroke-width", "1")
    filled: Inside | None = None
    outline: Inside | None = None
    if tag == "circle":
        cx, cy, r = number("cx", "0"), number("cy", "0"), number("r", "0")
        filled, outline = _ellipse(cx, cy, r, r, None), _ellipse(cx, cy, r, r, width)
    elif tag == "ellipse":
        cx, cy, rx, ry = (number(n, "0") for n in ("cx", "cy", "rx", "ry"))
        filled, outline = _ellipse(cx, cy, rx, ry, None), _ellipse(cx, cy, rx, ry, width)
    elif tag == "rect":
        x, y, w, h = (number(n, "0") for n in ("x", "y", "width", "height"))
        corners = [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]
        filled, outline = _in_polygon(corners), _near_segments([*corners, (x, y)], width / 2)
    elif tag in ("polygon", "polyline"):
        points = _points(a["points"])
        filled = _in_polygon(points)
        closed = [*points, points[0]] if tag == "polygon" else points
        outline = _near_segments(closed, width / 2)
    elif tag == "line":
        ends = [(number("x1", "0"), number("y1", "0")), (number("x2", "0"), number("y2", "0"))]
        fill, outline = "none", _near_segments(ends, width / 2)
    else:
        raise ValueError(f"<{tag}> is outside the SVG subset the terminal drawing reads")
    shapes = [Shape(fill, filled)] if fill != "none" and filled is not None else []
    if stroke and stroke != "none" and outline is not None:
        shapes.append(Shape(stroke, outline))
    return shapes


@functools.cache
def _icon_shapes(icon_id: str) -> tuple[tuple[float, float], tuple[Shape, ...]]:
    root = ET.parse(ICON_DIR / f"{icon_id}.svg").getroot()  # noqa: S314 - our own shipped files
    _, _, width, height = (float(n) for n in root.attrib["viewBox"].split())
    return (width, height), tuple(s for element in root for s in _shapes(element))


def pixels(icon_id: str) -> list[list[str | None]]:
    """The icon as COLUMNS × 2·ROWS pixels: each the colour that covers most of it, or None
    where at least half of it is paper (samples on a grid inside the pixel)."""
    (width, height), shapes = _icon_shapes(icon_id)
    across, down = COLUMNS, ROWS * 2
    grid: list[list[str | None]] = []
    for row in range(down):
        line: list[str | None] = []
        for column in range(across):
            inks: Counter[str] = Counter()
            for sy in range(_SAMPLES):
                for sx in range(_SAMPLES):
                    x = (column + (sx + 0.5) / _SAMPLES) * width / across
                    y = (row + (sy + 0.5) / _SAMPLES) * height / down
                    colour = PAPER
                    for shape in shapes:
                        if shape.inside(x, y):
                            colour = shape.colour
                    if colour.lower() not in (PAPER, "#fff", "white"):
                        inks[colour] += 1
            inked = sum(inks.values()) * 2 >= _SAMPLES * _SAMPLES
            line.append(inks.most_common(1)[0][0] if inked else None)
        grid.append(line)
    return grid


@functools.cache
def drawing(icon_id: str) -> Text | None:
    """The icon in half blocks, coloured where the terminal has colour (the shape alone reads
    without it); None for an icon this phone does not know."""
    # The id comes from the server: only a plain name may become a file name.
    if (
        not icon_id.isalpha()
        or not icon_id.isascii()
        or not (ICON_DIR / f"{icon_id}.svg").is_file()
    ):
        return None
    grid = pixels(icon_id)
    out = Text(no_wrap=True)
    for top, bottom in zip(grid[::2], grid[1::2], strict=True):
        if out:
            out.append("\n")
        for upper, lower in zip(top, bottom, strict=True):
            if upper and lower:
                out.append("█", style=upper)
            elif upper:
                out.append("▀", style=upper)
            elif lower:
                out.append("▄", style=lower)
            else:
                out.append(" ")
    return out


def name(icon_id: str, language: str, fallback: str = "") -> str:
    """The icon's name in the phone's language (the `icons` catalog the pages read too); the
    server's label for an icon the catalog does not know."""
    key = f"icon.{icon_id}"
    if i18n.has_text("icons", language, key):
        return i18n.text("icons", language, key)
    return fallback or icon_id


def label(icon_id: str, language: str, fallback: str = "") -> Text:
    """A choice on the icon screen: the drawing above the name (the name alone for an icon
    this phone cannot draw)."""
    out = Text(justify="center")
    picture = drawing(icon_id)
    if picture is not None:
        out.append_text(picture)
        out.append("\n")
    out.append(name(icon_id, language, fallback), style="bold")
    return out
