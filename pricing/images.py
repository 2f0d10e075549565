"""Image input tokens, by OpenAI's published tile formula.

For tile-billed models (GPT-4o, GPT-4o mini, GPT-4.1, o-series: `image_base_tokens` and
`image_tile_tokens` in the catalog), an image with `detail: low` costs the base tokens; any
other is scaled to fit 2048x2048, then down so its shorter side is at most 768 px, and costs
base + tile tokens for each 512 px tile it covers. Dimensions are read from a data URI's
image header (PNG, GIF, JPEG, WebP); a linked image, whose size is unknown here, is counted
at the formula's worst case (8 tiles), so a budget hold is never short.
"""

from __future__ import annotations

import base64
import binascii
import math
import struct
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pricing.prices import ModelPrice

MAX_SIDE = 2048
SHORT_SIDE = 768
TILE = 512
WORST_CASE_TILES = 8  # 2048 x 768 after scaling: 4 x 2 tiles
HEADER_BYTES = 64 * 1024  # enough for every header we read (JPEG's SOF may follow EXIF)


def image_tokens(price: ModelPrice, messages: Sequence[Mapping[str, Any]]) -> int:
    """Input tokens of every image part in `messages` on `price`'s model (0 if not billed
    by tiles)."""
    base, per_tile = price.image_base_tokens, price.image_tile_tokens
    if base is None or per_tile is None:
        return 0
    total = 0
    for part in _image_parts(messages):
        image = part.get("image_url")
        url = image.get("url") if isinstance(image, Mapping) else image
        detail = image.get("detail") if isinstance(image, Mapping) else part.get("detail")
        if detail == "low":
            total += base
            continue
        size = dimensions(url) if isinstance(url, str) else None
        total += base + per_tile * (tiles(*size) if size else WORST_CASE_TILES)
    return total


def _image_parts(messages: Sequence[Mapping[str, Any]]) -> Iterable[Mapping[str, Any]]:
    for message in messages:
        content = message.get("content")
        if isinstance(content, list):
            for part in content:
                if isinstance(part, Mapping) and part.get("type") in ("image_url",
                                                                      "input_image"):
                    yield part


def tiles(width: int, height: int) -> int:
    """512 px tiles of a `width` x `height` image after OpenAI's two scaling steps."""
    scale = min(1.0, MAX_SIDE / max(width, height))
    w, h = width * scale, height * scale
    scale = min(1.0, SHORT_SIDE / min(w, h))
    w, h = w * scale, h * scale
    return math.ceil(w / TILE) * math.ceil(h / TILE)


def dimensions(url: str) -> tuple[int, int] | None:
    """(width, height) of a base64 data-URI image, or None when unknown."""
    if not url.startswith("data:") or ";base64," not in url:
        return None
    encoded = url.split(";base64,", 1)[1][: HEADER_BYTES * 4 // 3]
    encoded = encoded[: len(encoded) // 4 * 4]
    try:
        head = base64.b64decode(encoded)
    except (binascii.Error, ValueError):
        return None
    return _png(head) or _gif(head) or _webp(head) or _jpeg(head)


def _png(head: bytes) -> tuple[int, int] | None:
    if head[:8] == b"\x89PNG\r\n\x1a\n" and len(head) >= 24:
        width, height = struct.unpack(">II", head[16:24])
        return (width, height) if width and height else None
    return None


def _gif(head: bytes) -> tuple[int, int] | None:
    if head[:6] in (b"GIF87a", b"GIF89a") and len(head) >= 10:
        width, height = struct.unpack("<HH", head[6:10])
        return (width, height) if width and height else None
    return None


def _webp(head: bytes) -> tuple[int, int] | None:
    if head[:4] != b"RIFF" or head[8:12] != b"WEBP" or len(head) < 30:
        return None
    kind = head[12:16]
    if kind == b"VP8X":
        return (int.from_bytes(head[24:27], "little") + 1,
                int.from_bytes(head[27:30], "little") + 1)
    if kind == b"VP8 ":
        width, height = struct.unpack("<HH", head[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if kind == b"VP8L":
        bits = int.from_bytes(head[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None


def _jpeg(head: bytes) -> tuple[int, int] | None:
    if head[:2] != b"\xff\xd8":
        return None
    i = 2
    while i + 9 < len(head):
        if head[i] != 0xFF:
            return None
        marker = head[i + 1]
        length = struct.unpack(">H", head[i + 2:i + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE,
                      0xCF):
            height, width = struct.unpack(">HH", head[i + 5:i + 9])
            return (width, height) if width and height else None
        i += 2 + length
    return None
