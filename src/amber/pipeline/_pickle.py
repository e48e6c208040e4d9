"""Pickling code for another process without losing where it came from.

cloudpickle ships a function defined in the caller's own modules by value. Since
3.1.3 it names the file of such code ``<dynamic-code>``, so a traceback raised in a
step's env loses the caller's file name and source lines. This pickler keeps each
code object's real file name and sends the source lines of those files along (the
first of the payload's two pickles, see ``_worker.load``), so the other side shows
them even when the file does not exist there.
"""

from __future__ import annotations

import io
import linecache
import pickle
import types
from typing import IO, Any

import cloudpickle

from amber.pipeline._worker import load

__all__ = ["dump", "dumps", "loads"]

_DYNAMIC = "<dynamic-code>"


class _Pickler(cloudpickle.Pickler):
    """cloudpickle's pickler, with code objects that keep their ``co_filename``."""

    def __init__(self, file: IO[bytes], sources: set[str]) -> None:
        super().__init__(file, protocol=5)
        self._sources = sources

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, types.CodeType):
            return self._reduce_code(obj)
        return super().reducer_override(obj)

    def _reduce_code(self, code: types.CodeType) -> Any:
        constructor, args = cloudpickle.Pickler.dispatch_table[types.CodeType](code)
        # cloudpickle >= 3.1.3 puts _DYNAMIC where the file name goes; older ones keep it
        args = tuple(code.co_filename if isinstance(a, str) and a == _DYNAMIC else a for a in args)
        self._sources.add(code.co_filename)
        return constructor, args


def dump(obj: Any, f: IO[bytes]) -> None:
    """Write ``obj`` to ``f`` for ``_worker.load``: its shipped source lines, then itself."""
    body, names = io.BytesIO(), set[str]()
    _Pickler(body, names).dump(obj)
    sources = {n: lines for n in sorted(names) if (lines := linecache.getlines(n))}
    pickle.dump(sources, f, protocol=5)
    f.write(body.getbuffer())


def dumps(obj: Any) -> bytes:
    """``obj`` as bytes for ``loads`` (or ``_worker.load``)."""
    out = io.BytesIO()
    dump(obj, out)
    return out.getvalue()


def loads(blob: bytes) -> Any:
    """The object of a payload made by ``dumps``."""
    return load(io.BytesIO(blob))
