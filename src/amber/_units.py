"""Sizes as people read them: one unit system (IEC: KiB, MiB, GiB) for every command."""

from __future__ import annotations

__all__ = ["human_bytes"]

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


def human_bytes(size: float | None) -> str:
    """1536 -> '1.5 KiB'; ``None`` (unknown) -> '-'."""
    if size is None:
        return "-"
    value = float(size)
    for unit in _UNITS:
        if abs(value) < 1024 or unit == _UNITS[-1]:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} {_UNITS[-1]}"  # pragma: no cover - the loop always returns
