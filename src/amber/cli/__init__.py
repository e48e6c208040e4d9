"""The ``amber`` command: one module per command group (``main`` holds the group), one
renderer (``render``), and the click-free fast path (``_fast``).

Nothing here imports click: ``amber._main`` reaches ``amber.cli._fast`` through it.
"""

from __future__ import annotations

from amber.errors import VerifyFailed

__all__ = ["VerifyFailed"]
