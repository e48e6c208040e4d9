"""PEP 503's normalised project name, without importing ``packaging.utils``.

``packaging.utils`` loads ``packaging.tags`` and with it ``logging``, ``platform`` and
``sysconfig``: about 10 ms that a conda-only lock, a hydrate or a lookup need not pay.
``tests/test_canonical_name.py`` holds this to ``canonicalize_name`` on any text.
"""

from __future__ import annotations

import re

__all__ = ["canonical_name"]

_SEPARATORS = re.compile(r"[-_.]+")


def canonical_name(name: str) -> str:
    """``packaging.utils.canonicalize_name(name)``: each run of ``-``, ``_`` and ``.``
    becomes one ``-``, all lower-cased."""
    return _SEPARATORS.sub("-", name).lower()
