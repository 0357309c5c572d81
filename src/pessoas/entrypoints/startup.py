"""How every process of the service reads its settings: refused ones stop it with one line."""

from __future__ import annotations

import sys

from pessoas.settings import Settings, SettingsRefused, load_settings

#: The exit status of a process whose configuration was refused.
REFUSED = 2


def refuse(reason: str) -> None:
    """Stops the process: the reason on one line of stderr, exit status :data:`REFUSED`."""
    print(f"pessoas: configuration refused: {reason}", file=sys.stderr)
    raise SystemExit(REFUSED)


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except SettingsRefused as refused:
        refuse(str(refused))
    raise AssertionError("refuse() does not return")
