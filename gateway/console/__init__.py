"""The web console at `/ui`: spend, budgets, routing and savings, read from the gateway's APIs."""

from gateway.console.router import install_console

__all__ = ["install_console"]
