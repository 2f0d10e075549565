"""Building a servable ASGI app from a config file or the embedded defaults."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from gateway.app import create_app, wrap_asgi
from gateway.assembly import Gateway, build_gateway
from gateway.budget import UnlimitedBudget
from gateway.config import GatewayConfig
from gateway.tenants.config import TenantConfig

log = logging.getLogger("costroute.server")


@dataclass
class StaticTenants:
    """Tenants held in memory (the embedded demo tenant, tests)."""

    tenants: list[TenantConfig]
    _by_hash: dict[str, TenantConfig] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        for tenant in self.tenants:
            for digest in tenant.key_sha256:
                self._by_hash[digest] = tenant

    def authenticate(self, api_key: str) -> TenantConfig | None:
        import hashlib
        import hmac

        digest = hashlib.sha256(api_key.encode("utf-8", "replace")).hexdigest()
        tenant = self._by_hash.get(digest)
        # The dict lookup is on a hash of the key, so timing reveals nothing about the key;
        # compare_digest keeps the final check constant-time as well.
        if tenant is not None and any(hmac.compare_digest(digest, h) for h in tenant.key_sha256):
            return tenant
        return None


@dataclass
class ServeOptions:
    config: GatewayConfig
    tenants: list[TenantConfig] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


def make_app(options: ServeOptions) -> Any:
    config = options.config

    async def build() -> Gateway:
        return build_gateway(config, StaticTenants(options.tenants), UnlimitedBudget())

    app = create_app(build)
    if config.simulator:
        from gateway.simulator.app import create_simulator_app

        app.mount("/simulator", create_simulator_app())
    return wrap_asgi(app, config.server.max_body_bytes)
