"""Reading what a user hands Amber: one regular file, of bounded size, as UTF-8 text.

Every reader of a spec, lock or other tool's file goes through ``read_input``, so a
FIFO, a device, a directory, a huge or a binary file is refused up front, naming the
file, instead of hanging or ending in a traceback. ``shorten`` is the one way a message
quotes a value it was given: at most a line, cut short.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

from amber.errors import AmberError

__all__ = [
    "read_input",
    "regular_stat",
    "shorten",
    "ErrorFactory",
    "MAX_INPUT_BYTES",
    "MAX_ENTRIES",
]

# Far above any real spec or lock (a 1,000-package lock for five platforms is ~5 MB),
# far below what would exhaust memory.
MAX_INPUT_BYTES = 64 << 20
# The most entries (match specs, requirements, channels) one spec may list.
MAX_ENTRIES = 10_000
_QUOTE_LIMIT = 100

ErrorFactory = Callable[[str], AmberError]


def shorten(value: object, limit: int = _QUOTE_LIMIT) -> str:
    """``value`` as text, cut to its first line and ``limit`` characters (marked with ...)."""
    text = str(value)
    lines = text.splitlines() or [""]
    first = lines[0]
    if len(first) > limit:
        return first[: limit - 3] + "..."
    return first + ("..." if len(lines) > 1 else "")


def clip_lines(text: str, limit: int = 1000) -> str:
    """``text`` with every line longer than ``limit`` cut short, its start and its end kept:
    what the CLI prints, so that no message, whatever it quotes, floods a terminal or a CI
    log (readers quote values with ``shorten``; this is the net behind them)."""
    head, tail = limit * 3 // 4, limit // 4 - 5
    return "\n".join(
        line if len(line) <= limit else f"{line[:head]} ... {line[-tail:]}"
        for line in text.split("\n")
    )


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ValueError):  # a NUL in the name
        return "the name holds a NUL character"
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    return "a symlink loop" if "loop" in str(exc).lower() else shorten(exc)


def regular_stat(path: Path | str, error: ErrorFactory) -> os.stat_result:
    """The ``stat`` of ``path`` (symlinks followed) when it is a regular file; else ``error``
    says why (missing, a loop, a FIFO, a device, a directory)."""
    try:
        st = os.stat(path)
    except (OSError, ValueError) as exc:
        raise error(f"cannot read: {_reason(exc)}") from None
    _check_regular(st, error)
    return st


def _check_regular(st: os.stat_result, error: ErrorFactory) -> None:
    if stat.S_ISDIR(st.st_mode):
        raise error("cannot read: it is a directory, not a file")
    if not stat.S_ISREG(st.st_mode):
        raise error("cannot read: not a regular file (a FIFO, socket or device): give a file")


def read_head(path: Path | str, size: int) -> str:
    """Up to ``size`` characters from the start of a regular file (undecodable bytes
    replaced); empty for anything else, which ``read_input`` refuses by name later."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except (OSError, ValueError):
        return ""
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return ""
    with os.fdopen(fd, "rb") as f:
        try:
            return f.read(size).decode("utf-8", errors="replace")
        except OSError:
            return ""


def read_input(path: Path | str, error: ErrorFactory, *, limit: int = MAX_INPUT_BYTES) -> str:
    """The text of the regular file ``path``: at most ``limit`` bytes of UTF-8; ``error``
    builds the ``AmberError`` that names the file and says what is wrong."""
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused just below).
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except (OSError, ValueError) as exc:
        raise error(f"cannot read: {_reason(exc)}") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        _check_regular(st, error)
    with os.fdopen(fd, "rb") as f:
        if st.st_size > limit:
            raise error(f"too large to be read: {st.st_size:,} bytes (at most {limit:,})")
        try:
            data = f.read(limit + 1)
        except OSError as exc:
            raise error(f"cannot read: {_reason(exc)}") from None
    if len(data) > limit:
        raise error(f"too large to be read: more than {limit:,} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise error(f"not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line})") from None
