"""Building a servable ASGI app from a config file or the embedded defaults."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway.app import create_app, wrap_asgi
from gateway.assembly import Gateway, build_gateway
from gateway.budget import LedgerBudget
from gateway.config import ConfigError, GatewayConfig
from gateway.learning.checks import served_models
from gateway.ledger.factory import open_rate_limiter, open_store
from gateway.ledger.guard import BudgetGuard
from gateway.paths import data_dir
from gateway.readiness import readiness
from gateway.records.spend_drainer import open_spend_drainer
from gateway.tenants.config import TenantConfig
from gateway.tenants.directory import TenantDirectory
from gateway.tenants.loader import TENANTS_ENV, tenants_path_from_env
from gateway.upstream.base import Upstream
from pricing import TokenizerRegistry

log = logging.getLogger("costroute.server")


@dataclass
class ServeOptions:
    """What to serve: the config, and tenants given in code (embedded demo, tests)."""

    config: GatewayConfig
    tenants: list[TenantConfig] = field(default_factory=list)
    upstreams: dict[str, Upstream] | None = None
    watch_interval_s: float = 2.0




def tenant_directory(options: ServeOptions) -> TenantDirectory:
    """Tenants from code, else `tenants_file` in gateway.yaml, else $COSTROUTE_TENANTS_FILE.

    Checked against the models this gateway serves (a learning judge must be one of them),
    at start-up and on every reload."""
    models = served_models(options.config)
    if options.tenants:
        return TenantDirectory.from_tenants(options.tenants, models=models)
    path = options.config.tenants_file or tenants_path_from_env()
    if not path:
        raise ConfigError(
            f"no tenants: set `tenants_file` in gateway.yaml or ${TENANTS_ENV}")
    return TenantDirectory(path, models=models)


def spend_log_path(config: GatewayConfig) -> Path:
    if config.store.path:
        return Path(config.store.path)
    return data_dir() / "spend.jsonl"


def make_app(options: ServeOptions) -> Any:
    """The gateway's ASGI app; configuration and tenant errors raise here, before serving."""
    config = options.config
    directory = tenant_directory(options)
    store_kind = config.store.kind
    journal = spend_log_path(config) if store_kind == "memory" else None
    if journal is not None:
        journal.parent.mkdir(parents=True, exist_ok=True)
    store = open_store(store_kind, path=journal, url=config.store.url,
                       cluster=config.store.cluster)
    tokenizers = TokenizerRegistry()

    async def build() -> Gateway:
        limiter = open_rate_limiter(store_kind, url=config.store.url,
                                    cluster=config.store.cluster)
        guard = BudgetGuard(store, hold_ttl_s=config.store.reservation_ttl_s,
                            fail_open=config.store.fail_open)
        gateway = build_gateway(config, directory, LedgerBudget(guard, limiter),
                                upstreams=options.upstreams, tokenizers=tokenizers,
                                records_dir=data_dir())
        gateway.store = store
        state = await readiness(store, fail_open=config.store.fail_open)
        if state.budget_store != "ok":
            log.warning("budget store (%s): %s", store_kind, state.budget_store)
        drainer = open_spend_drainer(store, gateway.record_store, journal)
        if drainer is not None:
            drainer.start()
            gateway.spend_drainer = drainer
            gateway.on_close.append(drainer.aclose)  # runs before the store closes
        retention = config.records.retention_days
        if retention is not None and gateway.record_store is not None:
            from gateway.records.retention import RetentionSweeper

            sweeper = RetentionSweeper(gateway.record_store, retention,
                                       config.records.purge_interval_s)
            sweeper.start()
            gateway.on_close.append(sweeper.aclose)  # before the store closes
        spend_retention = (config.records.spend_retention_days,
                           config.records.spend_hourly_retention_days)
        if drainer is not None and spend_retention != (None, None):
            from gateway.records.retention import SpendRetentionSweeper

            spend_sweeper = SpendRetentionSweeper(drainer.history,
                                                  config.records.purge_interval_s)
            spend_sweeper.start()
            gateway.on_close.append(spend_sweeper.aclose)  # before the store closes
        from gateway.artifacts.watch import start_watching

        _watcher, stop_watching = start_watching(config, gateway.routes)
        gateway.on_close.append(stop_watching)
        if directory.path != Path(""):
            directory.start_watching(options.watch_interval_s)
            gateway.on_close.append(directory.stop_watching)
            with contextlib.suppress(RuntimeError, ValueError):  # not the main thread
                uninstall = directory.install_sighup()

                async def _uninstall() -> None:
                    uninstall()

                gateway.on_close.append(_uninstall)
        return gateway

    app = create_app(build)
    asgi = wrap_asgi(app, config.server.max_body_bytes)
    if config.simulator:
        from gateway.simulator.app import create_simulator_app
        from gateway.simulator.config import SimulatorConfig
        from gateway.simulator.transport import capture_transport

        app.mount("/simulator", create_simulator_app(SimulatorConfig(tokenizers=tokenizers)))
        # Outermost, so that the simulator's `reset` fault can reach the socket.
        asgi = capture_transport(asgi)
    return asgi
