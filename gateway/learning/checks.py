"""Checks of a tenant's `learning:` block beyond its schema, when tenants.yaml is (re)loaded.

The schema (gateway/tenants/config.py) cannot know which models this gateway serves, so a
misspelled judge used to pass and fail every shadow job later, after the shadow calls were
paid. `learning_check(models)` gives the tenant directory a check that refuses, as
`file:line: field: reason` like any other bad value (at start-up, and on reload by keeping
the last good config):

- a `judge.model` or a `shadow_models` entry that is not a chat model this gateway serves;
- a `judge.rubric` version this gateway does not ship.

and warns (logged; the file applies) of a tenant with `shadow_rate > 0` and no
`learning.budget`: learning calls are paid only from that budget, so it makes none
(`costroute_learning_jobs_total{outcome="no_budget"}`), as documented, but said at load
instead of silently.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence

from gateway.config import GatewayConfig
from gateway.learning.rubrics import RUBRICS
from gateway.tenants.config import TenantsFile
from gateway.tenants.loader import Finding, TenantsCheck

_LISTED = 8  # served models named in a message, at most


def served_models(config: GatewayConfig) -> dict[str, str]:
    """Each model the gateway serves (`models:` of gateway.yaml) and its catalog mode
    (`chat`, `embedding`): what a learning call can reach. Raises CatalogError as the
    gateway's own build would."""
    from gateway.assembly import build_catalog
    from pricing import TokenizerRegistry

    catalog = build_catalog(config, TokenizerRegistry())
    return {m.name: catalog[m.name].mode for m in config.models}


def learning_check(models: Mapping[str, str] | None) -> TenantsCheck:
    """The check of every tenant's `learning:` block; `models` (name -> mode) are the models
    the gateway serves, or None where they are not known (then models are not checked)."""
    def check(tenants: TenantsFile) -> list[Finding]:
        return learning_findings(tenants, models)

    return check


def learning_findings(tenants: TenantsFile,
                      models: Mapping[str, str] | None) -> list[Finding]:
    found: list[Finding] = []
    for i, tenant in enumerate(tenants.tenants):
        settings = tenant.learning
        at: tuple[int | str, ...] = ("tenants", i, "learning")
        judge = settings.judge
        if judge.rubric not in RUBRICS:
            found.append(Finding(
                (*at, "judge", "rubric"),
                f"unknown judge rubric {judge.rubric!r}; known: {', '.join(sorted(RUBRICS))}"))
        if models is not None:
            if judge.model is not None:
                reason = _unservable(judge.model, models, "the judge")
                if reason:
                    found.append(Finding((*at, "judge", "model"), reason))
            for j, model in enumerate(settings.shadow_models):
                reason = _unservable(model, models, "a shadow model")
                if reason:
                    found.append(Finding((*at, "shadow_models", j), reason))
        if settings.shadow_rate > 0 and settings.budget is None:
            found.append(Finding(
                (*at, "shadow_rate"),
                f"shadow_rate {settings.shadow_rate:g} without `learning.budget`: no shadow or "
                "judge call will be made, since learning is paid only from its own budget "
                "(counted as jobs outcome=no_budget); add e.g. `budget: {period: day, "
                "limit_usd: 1}`, or set shadow_rate: 0", warning=True))
    return found


def _unservable(model: str, models: Mapping[str, str], role: str) -> str | None:
    """Why `model` cannot be `role`, or None when it can (a chat model the gateway serves)."""
    mode = models.get(model)
    if mode == "chat":
        return None
    if mode is not None:
        return (f"{model!r} is an {mode} model; {role} must be a chat model this gateway "
                "serves")
    chat = sorted(name for name, kind in models.items() if kind == "chat")
    close = difflib.get_close_matches(model, chat, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return (f"{model!r} is not a model this gateway serves (its chat models: "
            f"{_names(chat)}){hint}")


def _names(names: Sequence[str]) -> str:
    shown = ", ".join(names[:_LISTED])
    return shown + (f", ... ({len(names)} in all)" if len(names) > _LISTED else "") or "none"
