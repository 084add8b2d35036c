"""``menshen monitor``: the continuous-monitoring command group.

Command modules (baselines, bad-address lists, ingestion, response...) register their
commands on ``monitor_app``; ``menshen.cli.main`` imports each of them once.
"""

from __future__ import annotations

import typer

__all__ = ["monitor_app"]

monitor_app = typer.Typer(
    help="Continuous monitoring: baselines, detectors, risk, response.", no_args_is_help=True
)
