"""The picture a shared link shows (Open Graph, 1200 x 630 PNG), drawn with Pillow: the
letter's title, its verified count and who organises it. Drawn again only when the count
changes materially (its first two digits), so a busy letter's image is cached by browsers,
chat apps and each worker alike."""

from __future__ import annotations

import io
import textwrap
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 1200, 630
_BACKGROUND = (11, 83, 148)
_INK = (255, 255, 255)
_SOFT = (214, 228, 240)


def material_count(count: int) -> int:
    """The count as the image shows it: exact below 100, else its first two digits followed
    by zeros (1,234 -> 1,200), so it changes only when the count changes materially."""
    if count < 100:
        return max(count, 0)
    scale = 10 ** (len(str(count)) - 2)
    return count // scale * scale


@lru_cache(maxsize=256)
def share_png(title: str, count_text: str, footer: str, site: str) -> bytes:
    """The PNG for these texts, written by the caller in the reader's language (the count
    as material_count gives it, so the picture changes only when the count does
    materially)."""
    image = Image.new("RGB", (WIDTH, HEIGHT), _BACKGROUND)
    draw = ImageDraw.Draw(image)
    heading = ImageFont.load_default(size=64)
    large = ImageFont.load_default(size=52)
    small = ImageFont.load_default(size=34)
    lines = textwrap.wrap(title, width=30)[:4]
    if len(textwrap.wrap(title, width=30)) > 4:
        lines[-1] = lines[-1][:27] + "..."
    y = 70
    for line in lines:
        draw.text((70, y), line, font=heading, fill=_INK)
        y += 78
    draw.text((70, HEIGHT - 200), count_text[:40], font=large, fill=_INK)
    draw.text((70, HEIGHT - 110), footer[:70], font=small, fill=_SOFT)
    draw.text((WIDTH - 70, HEIGHT - 110), site[:40], font=small, fill=_SOFT, anchor="ra")
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
