"""`python -m gateway.simulator`: the same as `costroute simulate`."""

from gateway.simulator.cli import app

app(prog_name="costroute-simulate")
