"""`/ui` (static pages) and the JSON endpoints they read, `/v1/costroute/console/*`.

The pages log in with an API key and send it as a Bearer token, like any client: a tenant
reads its own figures; an admin key may pass `?tenant=NAME` (or `*` for every tenant).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from fastapi import APIRouter, FastAPI, Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles

from gateway.assembly import Gateway
from gateway.console.artifacts import artifact_versions
from gateway.console.history import default_range, settled_history
from gateway.console.overview import overview
from gateway.console.savings import RouteFacts, savings
from gateway.console.views import SERIES_DIMENSIONS, routing, series, totals
from gateway.errors import InvalidRequest, NotFound, PermissionDenied
from gateway.ledger.report import DayRange
from gateway.records.base import Outcome
from gateway.spend import language_premium
from gateway.tenants.config import TenantConfig

STATIC = Path(__file__).parent / "static"
API = "/v1/costroute/console"
# The pages load nothing from elsewhere: no CDN, no inline script.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")


def install_console(app: FastAPI) -> None:
    """Adds `/ui`, its static files and its JSON endpoints to `app`."""
    app.include_router(_api())
    app.mount("/ui/static", StaticFiles(directory=STATIC), name="console-static")

    # HEAD too: uptime checks and link checkers probe pages with it.
    @app.api_route("/ui", methods=["GET", "HEAD"], include_in_schema=False)
    async def ui_root() -> Response:
        return RedirectResponse("/ui/")

    @app.api_route("/ui/", methods=["GET", "HEAD"], include_in_schema=False)
    async def ui_index() -> Response:
        return FileResponse(STATIC / "index.html", headers={
            "content-security-policy": CSP, "cache-control": "no-cache",
            "x-content-type-options": "nosniff", "referrer-policy": "no-referrer"})


def _json(data: Any) -> Response:
    return Response(orjson.dumps(data), media_type="application/json",
                    headers={"cache-control": "no-store"})


class Scope:
    """Who asked, and whose figures they get (`tenant` None: every tenant's, admins only)."""

    def __init__(self, gateway: Gateway, request: Request):
        self.gateway = gateway
        self.caller = gateway.authenticate(request.headers.get("authorization"),
                                           request.headers.get("api-key"))
        wanted = request.query_params.get("tenant") or self.caller.name
        if wanted != self.caller.name and not self.caller.admin:
            raise PermissionDenied("Only an admin key may read another tenant's figures.",
                                   param="tenant", code="admin_required")
        self.name: str | None = None if wanted == "*" else wanted
        self.tenant: TenantConfig | None = self.caller
        if self.name is None:
            self.tenant = None
        elif self.name != self.caller.name:
            lookup = getattr(gateway.tenants, "get", None)
            self.tenant = lookup(self.name) if lookup else None
            if self.tenant is None:
                raise NotFound(f"There is no tenant named `{self.name}`.", param="tenant")
        self.days = _days(request)

    def header(self) -> dict[str, Any]:
        return {"tenant": self.name or "*", "from": self.days.first.isoformat(),
                "to": self.days.last.isoformat()}


def _days(request: Request) -> DayRange:
    first, last = request.query_params.get("from"), request.query_params.get("to")
    if first is None and last is None:
        return default_range()
    fallback = default_range()
    try:
        return DayRange.parse(first or fallback.first.isoformat(),
                              last or fallback.last.isoformat())
    except ValueError as exc:
        raise InvalidRequest(f"Invalid date range: {exc}.", param="from") from None


def _api() -> APIRouter:
    router = APIRouter(prefix=API, include_in_schema=False)

    def scope(request: Request) -> Scope:
        return Scope(request.app.state.gateway, request)

    @router.get("/session")
    async def session(request: Request) -> Response:
        s = scope(request)
        names: list[str] = []
        if s.caller.admin:
            names = [t.name for t in getattr(s.gateway.tenants, "tenants", ())]
        return _json({"tenant": s.caller.name, "admin": s.caller.admin, "tenants": names,
                      "ledger": s.gateway.store is not None,
                      "records": s.gateway.record_store is not None})

    @router.get("/overview")
    async def overview_page(request: Request) -> Response:
        s = scope(request)
        entries = await settled_history(s.gateway, s.name)
        return _json({**s.header(), **await overview(s.gateway, s.tenant, entries)})

    @router.get("/series")
    async def series_page(request: Request) -> Response:
        s = scope(request)
        by = request.query_params.get("by", "model")
        if by not in SERIES_DIMENSIONS:
            raise InvalidRequest(f"`by` must be one of {', '.join(SERIES_DIMENSIONS)}.",
                                 param="by")
        entries = s.days.select(await settled_history(s.gateway, s.name, s.days))
        return _json({**s.header(), **series(entries, s.days, by)})

    @router.get("/routing")
    async def routing_page(request: Request) -> Response:
        s = scope(request)
        entries = s.days.select(await settled_history(s.gateway, s.name, s.days))
        return _json({**s.header(), **routing(entries, s.days)})

    @router.get("/savings")
    async def savings_page(request: Request) -> Response:
        s = scope(request)
        entries = s.days.select(await settled_history(s.gateway, s.name, s.days))
        return _json({**s.header(), **savings(entries, _route_facts(s.gateway),
                                               s.gateway.catalog, await _outcomes(s))})

    @router.get("/languages")
    async def languages_page(request: Request) -> Response:
        s = scope(request)
        entries = s.days.select(await settled_history(s.gateway, s.name, s.days))
        return _json({**s.header(), "unit": "USD over the range", "totals": totals(entries),
                      "languages": language_premium(entries, s.gateway.service.estimator)})

    @router.get("/learning")
    async def learning_page(request: Request) -> Response:
        s = scope(request)
        store = s.gateway.record_store
        # Artifacts are the gateway's, not one tenant's: only an admin sees them.
        artifacts = (await asyncio.to_thread(artifact_versions, s.gateway.config)
                     if s.caller.admin else None)
        if store is None:
            return _json({**s.header(), "available": False, "artifacts": artifacts,
                          "note": "This gateway keeps no records store, so there are no "
                                  "labels to show."})
        counts = await store.counts(s.name)
        return _json({**s.header(), "available": True, "artifacts": artifacts,
                      "requests": counts.requests,
                      "captured": counts.captured,
                      "labels_by_model": dict(counts.labels_by_model),
                      "labels_by_route": dict(counts.labels_by_route),
                      "labels_by_source": dict(counts.labels_by_source)})

    return router


def _route_facts(gateway: Gateway) -> dict[str, RouteFacts]:
    quality = {m.name: m.quality for m in gateway.config.models if m.quality is not None}
    return {alias: RouteFacts(list(route.models or [m.name for m in gateway.config.models]),
                              quality)
            for alias, route in gateway.config.routes.items()}


async def _outcomes(s: Scope) -> list[Outcome] | None:
    """Judged and feedback outcomes in the range; None when there is no records store."""
    store = s.gateway.record_store
    if store is None:
        return None
    since = _epoch(s.days.first.isoformat())
    until = _epoch(s.days.last.isoformat()) + 86_400
    return [o for o in await store.outcomes(s.name, since=since) if o.created_at < until]


def _epoch(day: str) -> float:
    return datetime.fromisoformat(day).replace(tzinfo=UTC).timestamp()
