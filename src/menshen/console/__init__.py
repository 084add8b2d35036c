"""menshen.console: the admin web UI, an app behind menshen's own gateway (DESIGN.md §2).

``app`` (the Starlette app and its pages), ``access`` (who may open it: a verified identity
assertion from an administrator with MFA), ``pages`` (server-rendered HTML, no script),
``incidents`` and ``risks`` (the monitoring pages over ``desk``), ``forms`` (CSRF checks).
"""

from menshen.console.access import Admitted, ConsoleAccess, Refused, admit
from menshen.console.app import CONSOLE_FORM_KEY, ConsoleConfig, build_console

__all__ = [
    "CONSOLE_FORM_KEY",
    "Admitted",
    "ConsoleAccess",
    "ConsoleConfig",
    "Refused",
    "admit",
    "build_console",
]
