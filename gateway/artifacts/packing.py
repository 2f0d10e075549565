"""An artifact directory as one compressed, content-hashed blob, and back.

The tar is deterministic (sorted names, zero times and owners, gzip without a timestamp),
so the same files always give the same bytes and the same sha256: the hash names a
replica's cached copy and proves a download whole. Only regular files and folders are
packed; unpacking uses tarfile's `data` filter (no links out, no absolute paths).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from pathlib import Path

from routers.versions.manifest import RegistryError


def pack(directory: Path) -> tuple[bytes, str]:
    """(the tar.gz of `directory`'s contents, its sha256 hex digest)."""
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0, compresslevel=6) as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(directory.rglob("*")):
            if path.is_symlink() or not (path.is_file() or path.is_dir()):
                raise RegistryError(f"{path}: an artifact holds only plain files and folders")
            info = tar.gettarinfo(str(path), arcname=path.relative_to(directory).as_posix())
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
            info.mode = 0o755 if info.isdir() else 0o644
            info.pax_headers = {}
            if info.isdir():
                tar.addfile(info)
            else:
                with path.open("rb") as fh:
                    tar.addfile(info, fh)
    blob = buffer.getvalue()
    return blob, digest(blob)


def digest(blob: bytes) -> str:
    return hashlib.sha256(blob).hexdigest()


def unpack(blob: bytes, expected_digest: str, directory: Path) -> None:
    """Extract into `directory` (which must exist, empty) after checking the hash."""
    found = digest(blob)
    if found != expected_digest:
        raise RegistryError(f"artifact blob hash {found[:16]} is not the recorded "
                            f"{expected_digest[:16]}: refusing a corrupt download")
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
        tar.extractall(directory, filter="data")
