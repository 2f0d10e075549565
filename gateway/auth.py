"""Bearer-key authentication against the tenant directory."""

from __future__ import annotations

from typing import Protocol

from gateway.errors import AuthenticationFailed
from gateway.tenants.config import TenantConfig


class Authenticator(Protocol):
    def authenticate(self, api_key: str) -> TenantConfig | None: ...


def bearer_key(authorization: str | None, api_key_header: str | None) -> str:
    """The API key from `Authorization: Bearer ...` (or Azure-style `api-key`)."""
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
    if api_key_header and api_key_header.strip():
        return api_key_header.strip()
    raise AuthenticationFailed(
        "You didn't provide an API key. Send it as `Authorization: Bearer YOUR_KEY`.")


def authenticate(directory: Authenticator, authorization: str | None,
                 api_key_header: str | None) -> TenantConfig:
    tenant = directory.authenticate(bearer_key(authorization, api_key_header))
    if tenant is None:
        # Never echo the key, not even a prefix: logs and proxies keep response bodies.
        raise AuthenticationFailed("Incorrect API key provided.")
    return tenant
