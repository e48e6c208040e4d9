"""Is a ``.pyc`` what compiling its source gives? Standard library only.

Runs inside Amber for bytecode of Amber's own Python version and, as a script, under an
env's interpreter (``python -I -S _bytecode.py`` reading JSON ``[[pyc, source], ...]`` on
stdin, writing ``{pyc: reason}``) for bytecode of another version. The code objects are
compared, not the bytes: marshal's output depends on reference counts.
"""

import importlib.util
import json
import marshal
import os
import sys

__all__ = ["source_of", "check"]

_MAX_PYC = 64 * 1024 * 1024  # larger than any real module's bytecode


def source_of(rel):
    """The source a ``__pycache__/<stem>.<tag>[.opt-N].pyc`` path caches, or ``None``."""
    parts = rel.split(os.sep)
    if len(parts) < 2 or parts[-2] != "__pycache__" or not parts[-1].endswith(".pyc"):
        return None
    pieces = parts[-1].split(".")
    if len(pieces) < 3 or not pieces[0]:
        return None
    return os.sep.join([*parts[:-2], pieces[0] + ".py"])


def _optimization(pyc):
    """The ``-O`` level a cached file name records (``.opt-1.pyc``, ``.opt-2.pyc``)."""
    for piece in os.path.basename(pyc).split(".")[2:-1]:
        if piece.startswith("opt-") and piece[4:].isdigit():
            return int(piece[4:])
    return 0


def check(pyc, source):
    """``None`` when ``pyc`` holds the code ``source`` compiles to; else why not. ``"magic"``
    when it was written by another Python version (compare under that interpreter)."""
    try:
        with open(pyc, "rb") as f:
            data = f.read(_MAX_PYC + 1)
        with open(source, "rb") as f:
            text = f.read()
    except OSError as exc:
        return "unreadable: " + (exc.strerror or str(exc))
    if len(data) > _MAX_PYC or len(data) < 16:
        return "not bytecode"
    if data[:4] != importlib.util.MAGIC_NUMBER:
        return "magic"
    try:
        code = marshal.loads(data[16:])
    except (EOFError, ValueError, TypeError):
        return "not bytecode"
    try:
        expected = compile(text, source, "exec", dont_inherit=True, optimize=_optimization(pyc))
    except (SyntaxError, ValueError):
        return "its source does not compile"
    return None if code == expected else "bytecode differs from its source"


def _main():
    pairs = json.load(sys.stdin)
    out = {}
    for pyc, source in pairs:
        reason = check(pyc, source)
        if reason is not None:
            out[pyc] = "written by another Python" if reason == "magic" else reason
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    _main()
