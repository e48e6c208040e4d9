"""uv's calls for ``amber lock``, started before the rest of Amber has loaded.

``amber lock`` of a spec with PyPI packages and no conda part spends most of its time
waiting for uv, which revalidates the index pages over the network. The command starts
those calls first and loads click, the store, the policy and the renderers while they run:

1. The **lock memo** (``$AMBER_HOME/lock-memo/``), keyed by the working directory, the
   command line, the spec file's stat fingerprint and the variables that change what a spec
   means, holds the calls the same command ran last time: their input files, arguments and
   the environment they ran with (as changes to this process's). ``begin`` starts them on
   ``os``, ``sys``, ``json`` and ``subprocess`` alone; ``finish`` writes the memo again
   when the command ran other calls (``planned``), so that it follows the spec, the
   settings and the policy.
2. Then ``amber.api.prelock`` reads the spec with the modules that needs and starts the
   calls it plans (when the memo had none), or the whole resolution of a conda spec.

Either way ``amber.resolve.pypi`` takes a started call over (``claim``) only when it plans
exactly that call: the same arguments, input files and environment, compared by ``key``.
Anything else (a changed setting, a policy, an earlier lock's preferences) plans other
calls, and ``discard`` ends the early ones. A memo never holds credentials: a plan with any
(in an index URL, a requirement, a proxy) is not remembered.

``amber install [-f FILE]`` of a PyPI-only env that is missing has its **install memo**
(``$AMBER_HOME/install-memo/``, keyed like the lock memo by the file's stat fingerprint):
the env's folder, its build lock and the two uv calls its last build made (``uv venv``,
then ``uv pip install --offline`` of the pinned wheels). ``begin_install`` takes the build
lock (never waiting for it) and starts them one after the other while Amber loads;
``amber.hydrate`` adopts the lock (``claim_build``) and takes each call over by ``key``
like ``amber.resolve.pypi``, or removes what they made and builds as always.

Like ``amber._hot`` it must never import the rest of Amber (``amber._hot`` only).
"""

from __future__ import annotations

import os
import sys

from amber import _hot

TYPE_CHECKING = False  # typing itself costs a few ms before uv starts
if TYPE_CHECKING:
    import subprocess
    from collections.abc import Callable, Sequence
    from typing import Any

__all__ = [
    "lock_options", "spec_path", "key", "offer", "claim", "discard", "begin", "planned",
    "finish", "started", "recording", "memo_dir", "memo_file", "stale_memos", "FOLDER",
    "install_file", "begin_install", "claim_build", "built", "finish_install", "EarlyBuild",
]  # fmt: skip

_MEMO = "amber-lock-memo-1"
_MAX_MEMO = 1 << 22  # a memo holds a requirements file or two: anything larger is not ours
FOLDER = "\0"  # in remembered arguments: the folder their input files are in

# `amber lock`'s options whose calls can start early (any other option: none start).
_VALUED = {"-f": "file", "--file": "file", "-o": "output", "--output": "output",
           "-p": "platform", "--platform": "platform", "--python": "python"}  # fmt: skip


def lock_options(argv: Sequence[str]) -> dict[str, list[str]] | None:
    """``amber lock``'s options as ``{file, output, platform, python: [values]}``, or None
    for a command line with anything else (``--update``, ``--policy``...)."""
    given: dict[str, list[str]] = {}
    args = iter(argv)
    for arg in args:
        if arg in ("-q", "--quiet"):
            continue
        name, eq, value = arg.partition("=")
        if name not in _VALUED or (eq and not name.startswith("--")):
            return None
        if not eq:
            value = next(args, "")
            if not value:
                return None
        given.setdefault(_VALUED[name], []).append(value)
    return given


def spec_path(options: dict[str, list[str]]) -> str | None:
    """The spec file ``amber lock`` reads: ``-f``'s, else the first default file here."""
    if "file" in options:
        return options["file"][-1]
    return next((name for name in _hot.DEFAULT_FILES if os.path.isfile(name)), None)


# -- the calls under way, by key -------------------------------------------------------------


class _Early:
    def __init__(
        self,
        folder: str,
        calls: list[tuple[list[str], subprocess.Popen[bytes]]],
        cleanup: Callable[[], None],
    ):
        self.folder, self.calls, self.cleanup = folder, calls, cleanup

    def end(self) -> None:
        for _, popen in self.calls:
            if popen.poll() is None:
                popen.kill()
            popen.communicate()
        self.cleanup()


_STARTED: dict[str, _Early] = {}


def key(args: Sequence[str], files: Sequence[tuple[str, str]], env: dict[str, Any]) -> str:
    """What makes two planned calls the same process: arguments (with ``FOLDER`` for where
    their files are), the files' names and texts, and the changes to this process's
    environment (``{"set": {...}, "unset": [...]}``)."""
    import hashlib
    import json

    data = json.dumps([list(args), [list(f) for f in files], env], sort_keys=True)
    return hashlib.sha256(data.encode("utf-8", "surrogateescape")).hexdigest()


def offer(
    plan_key: str,
    folder: str,
    calls: list[tuple[list[str], subprocess.Popen[bytes]]],
    cleanup: Callable[[], None],
) -> None:
    """Calls started early for the plan ``plan_key``, their files in ``folder``; ``cleanup``
    removes the folder once they are taken over or ended."""
    previous = _STARTED.pop(plan_key, None)
    if previous is not None:
        previous.end()
    _STARTED[plan_key] = _Early(folder, calls, cleanup)


def claim(plan_key: str) -> _Early | None:
    """The calls started early for ``plan_key``, now the caller's to wait for and clean."""
    _settle()
    return _STARTED.pop(plan_key, None)


def discard() -> None:
    """End the calls nobody took over and remove their folders."""
    _settle()
    while _STARTED:
        _STARTED.popitem()[1].end()


# -- the lock memo ---------------------------------------------------------------------------


def memo_dir(home_dir: str, kind: str = "lock-memo") -> str:
    return os.path.join(home_dir, kind)


def _memo_key(options: dict[str, list[str]], path: str, fingerprint: str) -> str:
    """The memo's key: what the plans depend on (not ``-o``: a plain lock plans the same
    calls wherever it writes), the spec at ``path`` with its stat ``fingerprint``."""
    asked = [
        f"{name}={value}" for name in ("platform", "python") for value in options.get(name, ())
    ]
    return _key_of(_MEMO, path, fingerprint, asked)


def _key_of(kind: str, path: str, fingerprint: str, asked: Sequence[str] = ()) -> str:
    """A memo's key: its kind, where the command runs, what it was asked, its file (with the
    stat ``fingerprint``), the variables that change what a spec means and this Python."""
    parts = (kind, os.getcwd(), *asked, os.path.realpath(path), fingerprint)
    return "\x1f".join((*parts, _hot.spec_environment(), sys.executable))


def _read_memo(memo_path: str, memo_key: str | None = None) -> dict[str, Any] | None:
    """The memo at ``memo_path`` if it is one of ours (for ``memo_key``, when given)."""
    try:
        with open(memo_path, "rb") as f:
            data = f.read(_MAX_MEMO + 1)
    except OSError:
        return None
    import json

    try:
        memo = json.loads(data) if len(data) <= _MAX_MEMO else None
    except ValueError:
        return None
    if not isinstance(memo, dict) or memo_key not in (None, memo.get("memo")):
        return None
    return memo


def _write_memo(memo_path: str, memo_key: str, spec: tuple[str, str], **rest: Any) -> None:
    """Remember a memo (its file ``spec``: path and fingerprint) for the next command."""
    import json

    path, fingerprint = spec
    memo = {"memo": memo_key, "spec": path, "fingerprint": fingerprint, **rest}
    try:
        _hot.write_file(memo_path, json.dumps(memo).encode())
    except OSError:
        pass  # only a head start for the next time


def _memo_path(home_dir: str, memo_key: str, kind: str = "lock-memo") -> str:
    import zlib

    data = memo_key.encode("utf-8", "surrogateescape")
    name = f"{zlib.crc32(data):08x}{zlib.adler32(data):08x}"
    return os.path.join(memo_dir(home_dir, kind), name)


# The `amber lock` this process runs (``begin``) and the plans its resolution ran.
_COMMAND: dict[str, Any] = {}


def begin(argv: Sequence[str]) -> None:
    """This process runs ``amber lock ARGV``: start the calls its memo holds, and record
    from now on the plans its resolution runs (``planned``), for ``finish`` to remember.
    The spec's fingerprint is taken now, before anything reads it."""
    _COMMAND.clear()
    found = _locate(argv)
    if found is None:
        return
    memo_key, memo_path, path, fingerprint = found
    spec = (os.path.realpath(path), fingerprint)
    _COMMAND.update(key=memo_key, path=memo_path, spec=spec, planned=[], started=[])
    _COMMAND["started"] = _start_memo(memo_path, memo_key)


def memo_file(argv: Sequence[str]) -> str | None:
    """Where the lock memo of ``amber lock ARGV`` here is (None: no memo for it)."""
    found = _locate(argv)
    return found[1] if found is not None else None


def _locate(argv: Sequence[str]) -> tuple[str, str, str, str] | None:
    """``amber lock ARGV``'s memo key and memo file, its spec file and that file's stat
    fingerprint (taken once, here); None when the command can have no memo."""
    options = lock_options(argv)
    home_dir = _hot.home()
    path = spec_path(options) if options is not None else None
    if options is None or path is None or home_dir is None:
        return None
    fingerprint = _hot.fingerprints([path])[0][1]
    memo_key = _memo_key(options, path, fingerprint)
    return memo_key, _memo_path(home_dir, memo_key), path, fingerprint


def recording() -> bool:
    """Whether this process runs an ``amber lock`` whose plans ``planned`` records."""
    return bool(_COMMAND)


def planned(plan: dict[str, Any] | None, uv: str) -> None:
    """The resolution ran ``plan`` (``{"key", "files", "calls", "env"}``; None for one that
    holds a credential, which makes the command's plans unfit to remember)."""
    if _COMMAND:
        _COMMAND["planned"].append(plan)
        _COMMAND["uv"] = uv


def finish() -> None:
    """End the calls nobody took over, and remember the plans the command ran when they
    differ from the ones its memo started."""
    discard()
    command, plans = dict(_COMMAND), _COMMAND.get("planned") or []
    _COMMAND.clear()
    if not plans or any(p is None for p in plans) or len(plans) > 8:
        return
    if [p["key"] for p in plans] == command["started"]:
        return
    _write_memo(command["path"], command["key"], command["spec"], uv=command["uv"], plans=plans)


def stale_memos(home_dir: str) -> list[str]:
    """The lock and install memos of files that have changed or gone since (``amber gc``)."""
    return [p for kind in ("lock-memo", _INSTALLS) for p in _stale(memo_dir(home_dir, kind))]


def _stale(folder: str) -> list[str]:
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    stale = []
    for name in names:
        path = os.path.join(folder, name)
        memo = _read_memo(path) or {}
        try:
            spec, fingerprint = memo["spec"], memo["fingerprint"]
            current = _hot.fingerprints([spec])[0][1]
        except (OSError, ValueError, KeyError, TypeError):
            current, fingerprint = "", "-"  # not a memo of ours (or half of one): stale
        if current != fingerprint:
            stale.append(path)
    return stale


def _start_memo(memo_path: str, memo_key: str) -> list[str]:
    """Start the calls of the memo at ``memo_path``; their keys (none: no memo)."""
    memo = _read_memo(memo_path, memo_key)
    if memo is None:
        return []
    try:
        for plan in memo["plans"]:
            _start(memo["uv"], plan)
        return [plan["key"] for plan in memo["plans"]]
    except (ValueError, KeyError, TypeError, OSError):
        discard()
        return []


def started() -> bool:
    """Whether ``begin`` started calls from the memo."""
    return bool(_COMMAND.get("started"))


def _start(uv: str, plan: dict[str, Any]) -> None:
    import subprocess

    folder = _hot.scratch_folder("uv")
    for name, text in plan["files"]:
        if os.sep in name or name in ("", ".", ".."):
            raise ValueError(name)
        with open(os.path.join(folder, name), "w", encoding="utf-8") as f:
            f.write(text)
    env = dict(os.environ)
    for name in plan["env"]["unset"]:
        env.pop(name, None)
    env.update(plan["env"]["set"])
    calls = []
    for args in plan["calls"]:
        args = [a.replace(FOLDER, folder) for a in args]
        popen = subprocess.Popen(
            [uv, *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        calls.append((args, popen))

    def cleanup() -> None:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)

    offer(plan["key"], folder, calls, cleanup)


# -- the install memo ------------------------------------------------------------------------

_INSTALL_MEMO = "amber-install-memo-1"
_INSTALLS = "install-memo"
# The `amber install` this process runs: its memo's key and file, the file's fingerprint, the
# plans its build ran (``built``) and, while the early calls run, the build lock they hold.
_INSTALL: dict[str, Any] = {}
_CHAIN: list[Any] = []  # the thread starting the memo's calls one after the other


class EarlyBuild:
    """The build lock of an env that ``begin_install`` holds (an open descriptor, locked)."""

    def __init__(self, lock_path: str, fd: int, env: str):
        self.lock_path, self.fd, self.env = lock_path, fd, env


def install_file(argv: Sequence[str]) -> str | None:
    """The file ``amber install ARGV`` reads when ARGV is only ``-q`` and ``-f FILE`` (what
    ``amber.cli._fast`` serves), else None."""
    file = None
    args = iter(argv)
    for arg in args:
        if arg in ("-q", "--quiet"):
            continue
        if arg in ("-f", "--file"):
            file = next(args, "")
        elif arg.startswith("--file="):
            file = arg.partition("=")[2]
        else:
            return None
        if not file:
            return None
    found = spec_path({"file": [file]} if file is not None else {})
    return found if found is not None and os.path.isfile(found) else None


def begin_install(argv: Sequence[str]) -> None:
    """This process runs ``amber install ARGV``: when its memo names an env that is not
    there, hold that env's build lock and start the memo's calls, one after the other."""
    _INSTALL.clear()
    file, home_dir = install_file(argv), _hot.home()
    if file is None or home_dir is None:
        return
    fingerprint = _hot.fingerprints([file])[0][1]
    memo_key = _key_of(_INSTALL_MEMO, file, fingerprint)
    memo_path = _memo_path(home_dir, memo_key, _INSTALLS)
    _INSTALL.update(
        key=memo_key, path=memo_path, spec=(os.path.realpath(file), fingerprint), planned=None
    )
    memo = _read_memo(memo_path, memo_key)
    if memo is None:
        return
    try:
        env, lock_path, uv, plans = memo["env"], memo["lock"], memo["uv"], memo["plans"]
        if not (isinstance(env, str) and isinstance(lock_path, str) and isinstance(plans, list)):
            return
    except (ValueError, KeyError, TypeError):
        return
    held = _hold(lock_path, env)
    if held is None:
        return
    _INSTALL["held"] = held
    _INSTALL["started"] = [plan["key"] for plan in plans]
    import threading

    chain = threading.Thread(target=_run_chain, args=(uv, plans), daemon=True)
    _CHAIN.append(chain)
    chain.start()


def _hold(lock_path: str, env: str) -> EarlyBuild | None:
    """The env's build lock, held, when nobody holds it and the env is not there."""
    if os.path.lexists(env):
        return None  # complete, or a wreck: the slow path decides
    try:
        import fcntl
    except ImportError:
        return None  # no flock here (Windows): the slow path builds
    try:
        fd = os.open(lock_path, os.O_RDWR)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        same = os.path.samestat(os.fstat(fd), os.stat(lock_path))  # not removed meanwhile
    except OSError:
        same = False
    if not same or os.path.lexists(env):
        os.close(fd)
        return None
    return EarlyBuild(lock_path, fd, env)


def _run_chain(uv: str, plans: list[dict[str, Any]]) -> None:
    """Start each plan once the one before it has succeeded (``uv venv``, then the install
    into it)."""
    try:
        for plan in plans:
            _start(uv, plan)
            started = _STARTED.get(plan["key"])
            if started is None or any(p.wait() != 0 for _, p in started.calls):
                return
    except (ValueError, KeyError, TypeError, OSError):
        return


def _settle() -> None:
    """Wait for the chain to have started what it will start."""
    while _CHAIN:
        _CHAIN.pop().join()


def claim_build(lock_path: str) -> EarlyBuild | None:
    """The build lock at ``lock_path`` if ``begin_install`` holds it: now the caller's (to
    close when its build is over); the calls started under it are claimed by key."""
    held = _INSTALL.get("held")
    if held is None or held.lock_path != lock_path:
        return None
    del _INSTALL["held"]
    return held


def built(plans: list[dict[str, Any]] | None, uv: str, env: str, lock_path: str) -> None:
    """The build of this ``amber install`` ran ``plans`` (``{"key", "files", "calls",
    "env"}`` each, in order) for the env at ``env``; None: nothing worth remembering."""
    if _INSTALL and _INSTALL.get("planned") is None:
        _INSTALL["planned"] = (plans, uv, env, lock_path)


def finish_install() -> None:
    """End what nobody took over (and the env folder it made, under the lock still held),
    and remember the build's calls when they differ from the ones started."""
    discard()
    install = dict(_INSTALL)
    _INSTALL.clear()
    held = install.get("held")
    if held is not None:
        import shutil

        shutil.rmtree(held.env, ignore_errors=True)  # ours alone: we hold its build lock
        os.close(held.fd)
    if not install.get("planned"):
        return
    plans, uv, env, lock_path = install["planned"]
    if not plans or [p["key"] for p in plans] == install.get("started"):
        return
    _write_memo(
        install["path"], install["key"], install["spec"], env=env, lock=lock_path, uv=uv,
        plans=plans,
    )  # fmt: skip
