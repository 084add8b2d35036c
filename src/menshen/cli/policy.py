"""``menshen policy``: the policy engine's own commands (explain, analysis, tests, rollout).

Command modules register on ``policy_app``; ``menshen.cli.main`` imports them.
"""

from __future__ import annotations

import typer

policy_app = typer.Typer(
    help="The policy engine: explain, analyse, test, roll out.", no_args_is_help=True
)
