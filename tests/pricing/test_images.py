"""Image input tokens by OpenAI's tile formula, and their place in pre-flight estimates."""

from __future__ import annotations

import base64
import struct

import pytest

from pricing import Estimator, PriceCatalog, TokenizerRegistry
from pricing.images import WORST_CASE_TILES, dimensions, image_tokens, tiles


def png(width: int, height: int) -> str:
    header = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + struct.pack(
        ">II", width, height) + b"\x08\x02\x00\x00\x00"
    return "data:image/png;base64," + base64.b64encode(header).decode()


def jpeg(width: int, height: int) -> str:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00" + b"\x00" * 9
    sof = b"\xff\xc0" + struct.pack(">HBHH", 17, 8, height, width) + b"\x03" + b"\x00" * 9
    return "data:image/jpeg;base64," + base64.b64encode(b"\xff\xd8" + app0 + sof).decode()


def gif(width: int, height: int) -> str:
    return "data:image/gif;base64," + base64.b64encode(
        b"GIF89a" + struct.pack("<HH", width, height) + b"\x00" * 8).decode()


def message(url: str, detail: str | None = None) -> list[dict[str, object]]:
    image: dict[str, object] = {"url": url}
    if detail:
        image["detail"] = detail
    return [{"role": "user", "content": [{"type": "text", "text": "Describe."},
                                         {"type": "image_url", "image_url": image}]}]


@pytest.mark.parametrize("size,expected", [
    ((1024, 1024), 4),   # OpenAI's example: scaled to 768 x 768, 4 tiles
    ((2048, 4096), 6),   # OpenAI's example: 1024 x 2048, then 768 x 1536, 6 tiles
    ((512, 512), 1),     # small images are not scaled up
    ((4096, 1024), 4),   # 2048 x 512: the short side is under 768 already
    ((4096, 1536), 8),   # the worst case: 2048 x 768, 4 x 2 tiles
])
def test_tiles_follow_the_published_examples(size: tuple[int, int], expected: int) -> None:
    assert tiles(*size) == expected


def test_dimensions_are_read_from_image_headers() -> None:
    assert dimensions(png(640, 480)) == (640, 480)
    assert dimensions(jpeg(800, 600)) == (800, 600)
    assert dimensions(gif(32, 16)) == (32, 16)
    assert dimensions("https://example.com/cat.png") is None
    assert dimensions("data:image/png;base64,!!!not base64") is None


def test_image_tokens_per_model() -> None:
    catalog = PriceCatalog.shipped()
    assert image_tokens(catalog["gpt-4o"], message(png(1024, 1024))) == 85 + 170 * 4
    assert image_tokens(catalog["gpt-4o-mini"], message(png(1024, 1024))) == 2833 + 5667 * 4
    assert image_tokens(catalog["gpt-4o"], message(png(4096, 8192), "low")) == 85
    # A linked image's size is unknown: counted at the worst case, so holds are never short.
    assert image_tokens(catalog["gpt-4o"], message("https://example.com/a.png")) == \
        85 + 170 * WORST_CASE_TILES
    assert image_tokens(catalog["mistralai/Mixtral-8x7B-Instruct-v0.1"],
                        message(png(1024, 1024))) == 0


def test_estimates_include_image_tokens() -> None:
    estimator = Estimator(PriceCatalog.shipped(), TokenizerRegistry())
    text_only = [{"role": "user", "content": [{"type": "text", "text": "Describe."}]}]
    with_image = message(png(1024, 1024))
    plain = estimator.estimate("gpt-4o", text_only).prompt_tokens
    seen = estimator.estimate("gpt-4o", with_image).prompt_tokens
    assert seen - plain == pytest.approx(765, abs=5)  # the part's "[image_url]" label aside
    assert estimator.prompt_tokens(PriceCatalog.shipped()["gpt-4o"], with_image) == seen
