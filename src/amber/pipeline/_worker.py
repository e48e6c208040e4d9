"""Runs inside a step's env as a script: load (func, args, kwargs), call, store the outcome.

Only the standard library and cloudpickle are available here (Amber itself is
not installed in step envs). Outcomes:
  ("ok", value) | ("error", exc_or_None, module, qualname, message, traceback)
  | ("load-error", message, traceback) | ("result-error", message)

A payload is two pickles in a row: the source lines of the code shipped by value
(``{file name: lines}``, plain pickle), then the object itself (cloudpickle). The
lines go into ``linecache`` first, so a traceback here names the caller's file, line
and source line even where that file does not exist.
"""

import linecache
import os
import pickle
import sys
import traceback


def load(f):
    """The object of a payload read from ``f``, its source lines known to ``linecache``."""
    import cloudpickle

    sources = pickle.load(f)
    for name, lines in sources.items():
        if name not in linecache.cache or linecache.cache[name][1] is None:
            # mtime None: linecache.checkcache keeps the entry (the file may not exist here)
            linecache.cache[name] = (sum(map(len, lines)), None, list(lines), name)
    return cloudpickle.load(f)


def _dump(outcome, path):
    import cloudpickle

    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        cloudpickle.dump(outcome, f, protocol=5)
    os.replace(tmp, path)


def main(payload_path, result_path):
    try:
        import cloudpickle  # noqa: F401 - only to say that it is missing
    except ImportError:
        sys.stderr.write("amber: cloudpickle is not installed in this env\n")
        return 97
    try:
        with open(payload_path, "rb") as f:
            func, args, kwargs = load(f)
    except BaseException as exc:  # noqa: BLE001 - reported to the caller
        _dump(("load-error", f"{type(exc).__name__}: {exc}", traceback.format_exc()), result_path)
        return 0
    try:
        value = func(*args, **kwargs)
    except BaseException as exc:  # noqa: BLE001 - travels back to the caller
        cls = type(exc)
        details = (cls.__module__, cls.__qualname__, str(exc), traceback.format_exc())
        try:
            _dump(("error", exc, *details), result_path)
        except Exception:  # noqa: BLE001 - the exception itself does not pickle
            _dump(("error", None, *details), result_path)
        return 0
    try:
        _dump(("ok", value), result_path)
    except Exception as exc:  # noqa: BLE001
        _dump(("result-error", f"{type(exc).__name__}: {exc}"), result_path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
