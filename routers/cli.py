"""The routers' command line: `costroute train ...`, `costroute calibrate ...`, `costroute knn ...`.

`app` is mounted as `costroute train`; each router family registers its commands here from
its own module (`routers/knn/cli.py`), so another family (e.g. a cascade) adds a line below
without touching the others. `calibrate_app` and `knn_app` are mounted as `costroute
calibrate` and `costroute knn`.
"""

from __future__ import annotations

import typer

from routers.cascade.cli import register as register_cascade
from routers.knn.cli import register as register_knn

app = typer.Typer(help="Train routers from routing data.", no_args_is_help=True)
train_app = app
calibrate_app = typer.Typer(
    help="Map a traffic share or a USD budget to a router's cost knob.", no_args_is_help=True
)
knn_app = typer.Typer(help="Inspect and grow k-NN router artifacts.", no_args_is_help=True)

register_knn(train_app, calibrate_app, knn_app)
register_cascade(train_app)


# Callbacks keep each app a command group even while it holds a single command.
@train_app.callback()
def _train() -> None:
    """Train routers from routing data."""


@calibrate_app.callback()
def _calibrate() -> None:
    """Map a traffic share or a USD budget to a router's cost knob."""


@knn_app.callback()
def _knn() -> None:
    """Inspect and grow k-NN router artifacts."""
