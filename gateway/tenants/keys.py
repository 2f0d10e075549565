"""New API keys: generated once, shown once, stored only as their SHA-256 in tenants.yaml."""

from __future__ import annotations

import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

from gateway.tenants.config import hash_key
from gateway.tenants.loader import parse_tenants
from gateway.tenants.yaml_edit import UnknownTenant, add_key_hash, add_tenant

KEY_PREFIX = "cr-"


def generate_api_key() -> str:
    """A fresh random key: `cr-` and 43 URL-safe characters (256 bits)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True, slots=True)
class NewKey:
    key: str  # the key itself, to show once: the file keeps only its hash
    added_tenant: bool  # `create` added the tenant (it has no budgets yet)


def add_key(path: str | Path, tenant: str, *, create: bool = False) -> NewKey:
    """Writes the hash of a new key into `tenant` in `path` and returns the key itself.

    With `create`, a missing tenant (and a missing file) is added, holding only the key: an
    explicit choice, since a mistyped name would otherwise become a tenant with no budget.
    Raises FileNotFoundError, EditError (tenant or layout not found) or TenantConfigError
    (the edited file would not load); the file is replaced atomically, so a reader never
    sees half of it.
    """
    path = Path(path)
    exists = path.exists()
    if not exists and not create:
        raise FileNotFoundError(path)
    text = path.read_text(encoding="utf-8") if exists else ""
    key = generate_api_key()
    added = False
    try:
        edited = add_key_hash(text, tenant, hash_key(key))
    except UnknownTenant:
        if not create:
            raise
        edited, added = add_tenant(text, tenant, hash_key(key)), True
    parse_tenants(edited, source=str(path))
    _replace_atomically(path, edited)
    return NewKey(key, added)


def _replace_atomically(path: Path, text: str) -> None:
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o600
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
