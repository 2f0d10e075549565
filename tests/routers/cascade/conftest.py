"""The gateway fixtures (simulator, loopback gateways) for the cascade's end-to-end tests."""

from tests.gateway.conftest import _clean_simulator, gateway_factory, sim

__all__ = ["_clean_simulator", "gateway_factory", "sim"]
