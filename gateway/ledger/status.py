"""A tenant's budgets at one instant, and the hard-stop error when a request cannot fit."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.ledger.base import BudgetWindow, WindowState, limit_to_nanos, to_nanos
from gateway.tenants.pacing import tightest


class BudgetExhausted(Exception):
    """A request does not fit in one of the tenant's budgets: HTTP 429.

    Maps to OpenAI's `type: "insufficient_quota"`, `code: "budget_exceeded"`; `message` names
    the budget and when it resets, `resets_at` is ISO-8601 (or "never" for a fixed total).
    """

    error_type = "insufficient_quota"
    code = "budget_exceeded"

    def __init__(self, tenant: str, window: BudgetWindow, remaining_usd: float,
                 needed_usd: float):
        self.tenant = tenant
        self.window = window
        self.resets_at = window.resets_at
        self.remaining_usd = remaining_usd
        self.needed_usd = needed_usd
        self.message = exhausted_message(window, remaining_usd, needed_usd)
        super().__init__(self.message)


def exhausted_message(window: BudgetWindow, remaining_usd: float, needed_usd: float) -> str:
    """The user-facing sentence of a hard stop: which budget, what is left, when it resets."""
    text = (
        f"Your {window.name} budget of ${_dollars(window.limit_usd)} has ${remaining_usd:.6f}"
        f" left, and this request could cost up to ${needed_usd:.6f}."
    )
    if window.resets_at == "never":
        return text + " This budget does not reset; ask an administrator to raise it."
    return text + f" It resets at {window.resets_at}."


def _dollars(amount: float) -> str:
    """Cents as usual ("5.00"), and every digit a sub-cent limit has ("0.002", not "0.00")."""
    if round(amount, 2) == amount:
        return f"{amount:.2f}"
    return f"{amount:.6f}".rstrip("0")


@dataclass(frozen=True, slots=True)
class BudgetStatus:
    """Every budget window of one tenant now: spend, holds, how far into the period."""

    tenant: str
    states: tuple[WindowState, ...] = ()
    elapsed: tuple[float | None, ...] = ()  # share of each period elapsed; None for a total
    alert_fractions: tuple[float, ...] = ()
    known: bool = True  # False when the store was down and the guard fails open

    def remaining_fraction(self) -> float | None:
        """Share of the tightest budget still free, in [0, 1]; None when there is none."""
        fractions = [_free_share(s) for s in self.states]
        return min(fractions) if fractions else None

    def tightness(self) -> float:
        """How far the budgets lag their periods, in [0, 1] (gateway.tenants.pacing)."""
        return tightest((_free_share(s), e) for s, e in zip(self.states, self.elapsed))

    def alerting(self) -> list[WindowState]:
        """Windows whose spend plus holds reached their soft-alert fraction."""
        return [
            s for s, alert in zip(self.states, self.alert_fractions)
            if s.spent_nanos + s.reserved_nanos >= alert * limit_to_nanos(s.window.limit_usd)
        ]

    def blocking(self, amount_usd: float) -> WindowState | None:
        """The first window `amount_usd` would not fit in right now, or None if it fits."""
        amount = to_nanos(amount_usd)
        return next((s for s in self.states if amount > s.remaining_nanos), None)

    def ensure_affordable(self, amount_usd: float) -> None:
        """Raises BudgetExhausted when `amount_usd` (e.g. the cheapest model) cannot fit."""
        state = self.blocking(amount_usd)
        if state is not None:
            raise BudgetExhausted(self.tenant, state.window, state.remaining_usd, amount_usd)


def _free_share(state: WindowState) -> float:
    limit = limit_to_nanos(state.window.limit_usd)
    return state.remaining_nanos / limit if limit > 0 else 0.0
