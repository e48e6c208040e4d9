"""Pipeline steps: a function that runs in a subprocess inside its own env.

``Env`` builds the same ``Spec`` the CLI reads from files; ``step`` merges a
step's settings over a base spec; ``prepare`` resolves and hydrates every
distinct env once, concurrently; calling a step ships the function and its
arguments with cloudpickle to ``_worker.py`` running in the step's env.
"""

from __future__ import annotations

import codecs
import dataclasses
import os
import signal
import socket
import subprocess
import sys
import sysconfig
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path
from typing import Any

import cloudpickle

from amber import _uv, api, condarc
from amber._fs import scratch_dir
from amber._progress import Progress
from amber._urls import redact_text
from amber.channels import CondaConfig
from amber.errors import AmberError, RemoteTraceback, StepCrashedError, StepError
from amber.lock import Lock
from amber.pipeline import _pickle
from amber.run import env_environ
from amber.settings import Settings
from amber.spec import Spec, read_spec
from amber.spec.model import _requirement_name  # noqa: PLC2701 - same package
from amber.store import Store
from amber.store.env import Env as HydratedEnv

__all__ = ["Env", "Step", "step", "prepare", "StepError", "StepCrashedError", "RemoteTraceback"]


def Env(  # noqa: N802 - a constructor to users: amber.Env(python=..., pypi=[...])
    *,
    conda: Iterable[str] = (),
    pypi: Iterable[str] = (),
    channels: Iterable[str] = (),
    python: str | None = None,
    index_url: str | None = None,
    extra_index_urls: Iterable[str] = (),
    file: str | os.PathLike[str] | None = None,
    name: str | None = None,
    named: str | None = None,
    platforms: Iterable[str] = (),
) -> Spec:
    """An environment spec: the same ``Spec`` that `amber lock -f FILE` reads.

    ``named="team/project/env:tag"`` starts from the spec that named env was locked from
    (Metaflow's ``@named_env_base``): this store's tag, else the remote store's. ``file=``
    and the packages given here go over it (same name: the later entry wins), and the
    result is resolved again, as any spec. ``platforms=`` locks for those platforms too
    (workers on another one); ``python=`` takes a version or a range (``">=3.10,<3.12"``).
    """
    inline = Spec.create(conda=conda, pypi=pypi, channels=channels, python=python,
        index_url=index_url, extra_index_urls=extra_index_urls, name=name,
        platforms=platforms)  # fmt: skip
    spec = _named_base(named) if named is not None else Spec.create()
    if file is not None:
        spec = spec.merge(read_spec(Path(file), channel_config=_channel_config()))
    return spec.merge(inline)


def _named_base(ref: str) -> Spec:
    """The requested spec of the env ``ref`` names (its lock's, with the platforms it was
    locked for), without Amber's additions: a step adds its own again."""
    spec = api.lock_for_name(ref, session=api.Session.open(quiet=True)).spec
    added = set(spec.added)
    return dataclasses.replace(
        spec,
        conda=tuple(c for c in spec.conda if c not in added),
        pypi=tuple(p for p in spec.pypi if p not in added),
        added=(),
    )


# -- steps ---------------------------------------------------------------------


class Step:
    """A function bound to an environment. Call it like the function."""

    def __init__(self, func: Callable[..., Any], spec: Spec | None, env: str | None) -> None:
        self.func = func
        self.name = func.__qualname__
        self.__doc__ = func.__doc__
        self.__wrapped__ = func
        self._spec = spec
        self._env_ref = env
        self._envs: dict[Path, HydratedEnv] = {}  # per store
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<amber step {self.name}>"

    def __getstate__(self) -> dict[str, Any]:
        # Steps travel (e.g. to Dask workers): without this process's lock and env cache.
        state = dict(self.__dict__)
        state.pop("_lock")
        state["_envs"] = {}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    @property
    def spec(self) -> Spec | None:
        """The spec the step runs in (None for ``env=`` steps), with what Amber adds."""
        return self._spec

    def prepare(self, store: Store | None = None, progress: Progress | None = None) -> HydratedEnv:
        """Resolve and hydrate this step's env (once per process); returns it."""
        store = store or _default_store()
        with self._lock:
            env = self._envs.get(store.home)
            if env is None or not env.is_complete():
                env = self._envs[store.home] = _env_for(self, store, progress)
            return env

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        store = _default_store()
        return _call(self, self.prepare(store), args, kwargs, store)


def step(
    base: Spec | Callable[..., Any] | None = None,
    *,
    conda: Iterable[str] = (),
    pypi: Iterable[str] = (),
    channels: Iterable[str] = (),
    python: str | None = None,
    file: str | os.PathLike[str] | None = None,
    env: str | None = None,
) -> Any:
    """Decorate a function to run in its own env: ``@amber.step(base, pypi=[...])``.

    The step's settings merge over ``base`` (the same package name: the step's entry
    wins; other lists add). ``file=`` reads a spec file (relative to the function's
    module); ``env=`` names an env that exists (NAME, full_id or a prefix of one).
    """
    if callable(base) and not isinstance(base, Spec):
        return step()(base)

    def decorate(func: Callable[..., Any]) -> Step:
        if env is not None:
            if base is not None or conda or pypi or channels or python or file:
                raise StepError(
                    f"step {func.__qualname__}: env= excludes every other setting",
                    step=func.__qualname__,
                )
            return Step(func, None, env)
        spec = base if isinstance(base, Spec) else Spec.create()
        if file is not None:
            path = Path(file)
            if not path.is_absolute():
                module_file = getattr(sys.modules.get(func.__module__), "__file__", None)
                path = (Path(module_file).parent if module_file else Path.cwd()) / path
            spec = spec.merge(read_spec(path, channel_config=_channel_config()))
        spec = spec.merge(Spec.create(conda=conda, pypi=pypi, channels=channels, python=python))
        return Step(func, _with_step_needs(spec), None)

    return decorate


def _with_step_needs(spec: Spec) -> Spec:
    """Add what the worker needs: cloudpickle (the caller's version) and, for conda envs,
    the caller's Python X.Y (functions pickled by value need the same minor version)."""

    names = {_requirement_name(r).lower() for r in spec.pypi}
    pypi = [] if "cloudpickle" in names else [f"cloudpickle=={cloudpickle.__version__}"]
    conda: list[str] = []
    if spec.is_conda and not any(c.split()[0].split("::")[-1] == "python" for c in spec.conda):
        conda.append(f"python {sys.version_info[0]}.{sys.version_info[1]}.*")
    if not pypi and not conda:
        return spec
    return spec.merge(Spec.create(conda=conda, pypi=pypi, added=[*conda, *pypi]))


def _env_for(s: Step, store: Store, progress: Progress | None) -> HydratedEnv:

    if s._env_ref is not None:
        return api.find_env(s._env_ref, store)
    assert s._spec is not None
    return api.install(s._spec, store, progress)


def _channel_config() -> CondaConfig:
    """The channel settings a spec file read here resolves with (``.condarc``, Amber's
    settings file, ``$CONDA_*``): user code is the edge."""
    return condarc.load_for(Settings.from_environ())


def _default_store() -> Store:
    """The settings' store: a step is called from user code, which is the edge."""
    return api.Session.open(quiet=True).store


def prepare(
    *steps: Step, quiet: bool = False, store: Store | None = None
) -> dict[Step, HydratedEnv]:
    """Resolve every step's env concurrently and hydrate each distinct env once.

    Returns {step: env}. Without it, a step prepares its own env on its first call.
    """

    store = store or _default_store()
    progress = Progress(quiet=quiet)
    inner = Progress(quiet=True)
    specs: dict[str, Spec] = {}
    for s in steps:
        if s.spec is not None:
            specs.setdefault(s.spec.req_id, s.spec)
    with progress.task(f"Preparing {len(steps)} steps ({len(specs)} distinct specs)"):
        # Each spec resolves then hydrates on its own thread, so a quick env never waits
        # for a slow resolve; specs that lock to one full_id meet at its build lock.
        workers = max(1, min(8, len(specs)))
        with _uv.parallel(workers), ThreadPoolExecutor(max_workers=workers) as pool:
            # A Store per thread: its sqlite connection belongs to the thread that opened it.
            built = pool.map(
                lambda spec: api.install(
                    spec,
                    store.again(),
                    inner,
                ),
                specs.values(),
            )
            envs = dict(zip(specs, built, strict=True))
    out: dict[Step, HydratedEnv] = {}
    for s in steps:
        if s.spec is None:
            env = api.find_env(s._env_ref or "", store)
        else:
            env = envs[s.spec.req_id]
        with s._lock:
            s._envs[store.home] = env
        out[s] = env
    progress.message(f"{len(out)} steps ready in {len(set(e.full_id for e in out.values()))} envs")
    return out


# -- calling -------------------------------------------------------------------

# One run id per process and store: every step call of one pipeline run shares it, so it
# lives as long as the process (keyed by store home; nothing to reset between runs).
_RUN: dict[str, str] = {}
_RUN_LOCK = threading.Lock()


def current_run_id(store: Store) -> str:
    """This process's run id: every step call of one pipeline run shares it."""
    key = str(store.home)
    with _RUN_LOCK:
        if key not in _RUN:
            _RUN[key] = uuid.uuid4().hex[:12]
            store.record_run(_RUN[key], time.time(), socket.gethostname(), " ".join(sys.argv))
        return _RUN[key]


def _call(
    s: Step, env: HydratedEnv, args: Sequence[Any], kwargs: dict[str, Any], store: Store
) -> Any:

    _ship_by_value(s.func)
    run_id = current_run_id(store)
    with scratch_dir("step") as tmp:
        payload, result = os.path.join(tmp, "payload.pkl"), os.path.join(tmp, "result.pkl")
        try:
            with open(payload, "wb") as f:
                _pickle.dump((s.func, tuple(args), kwargs), f)
        except Exception as exc:  # noqa: BLE001 - find which argument it is
            raise StepError(_unpicklable(s, args, kwargs, exc), step=s.name) from None
        started = time.time()
        code = _run_worker(env, payload, result)
        ended = time.time()
        outcome = None
        if os.path.exists(result):
            with open(result, "rb") as f:
                try:
                    outcome = cloudpickle.load(f)
                except Exception as exc:  # noqa: BLE001
                    outcome = ("result-error", f"cannot unpickle the result here: {exc}")
    status = _status(outcome, code)
    store.record_step(run_id, s.name, env.full_id, started, ended, status, _traceback(outcome))
    store.touch_env(env.full_id)
    _share(store, env, run_id)
    if outcome is None:
        raise StepCrashedError(
            f"step {s.name} crashed: {_describe_exit(code)} (env {env.path})",
            step=s.name,
            prefix=env.path,
        )
    kind = outcome[0]
    if kind == "ok":
        return outcome[1]
    if kind == "error":
        pickled, module, qualname, message, tb = outcome[1:]
        raised = _as_caller_type(pickled, module, qualname)
        if raised is None:
            raise StepError(
                f"step {s.name} raised {module}.{qualname}: {message}", step=s.name
            ) from (RemoteTraceback(tb))
        raise raised from RemoteTraceback(tb)
    if kind == "load-error":
        message, tb = outcome[1:]
        raise StepError(
            f"step {s.name}: its env cannot load the function or its arguments ({message}). "
            "Add the package it needs to the step's spec.",
            step=s.name,
        ) from RemoteTraceback(tb)
    raise StepError(f"step {s.name}: its return value cannot come back: {outcome[1]}", step=s.name)


# (remote url, full_id) of the envs this process pushed: pushing is idempotent, this only
# spares the remote round trips on every later call of a step.
_SHARED: set[tuple[str, str]] = set()
_SHARED_LOCK = threading.Lock()


def _share(store: Store, env: HydratedEnv, run_id: str) -> None:
    """With a remote store configured: the env (once per process) and the run record go
    there too, so `amber env get --run` works from any machine."""

    remote = api.configured_remote()
    if remote is None:
        return
    try:
        key = (remote.url, env.full_id)
        with _SHARED_LOCK:
            if key not in _SHARED:
                remote.push(Lock.read(env.lock_file), store)
                _SHARED.add(key)
        remote.record_run(store.runs(run_id)[0])
    except AmberError as exc:  # the step itself succeeded: say so, don't fail it
        print(f"amber: warning: could not record the run in the remote store: {exc}",
              file=sys.stderr)  # fmt: skip


def _ship_by_value(func: Callable[..., Any]) -> None:
    """Pickle the caller's own modules by value: step envs don't have them (nor amber)."""

    module = sys.modules.get(func.__module__)
    path = getattr(module, "__file__", None)
    if module is None or module.__name__ == "__main__" or not path:
        return  # __main__ is pickled by value anyway
    real = os.path.realpath(path)
    if any(real.startswith(p + os.sep) for p in _caller_paths()):
        try:
            cloudpickle.register_pickle_by_value(module)
        except ValueError:
            pass


def _as_caller_type(exc: BaseException | None, module: str, qualname: str) -> BaseException | None:
    """The exception as an instance of the caller's own class of that name, where there is one
    (a class pickled by value comes back as a look-alike, not the caller's class)."""
    target: Any = sys.modules.get(module)
    for part in qualname.split("."):
        target = getattr(target, part, None)
    if exc is None or not isinstance(target, type) or not issubclass(target, BaseException):
        return exc
    if isinstance(exc, target):
        return exc
    rebuilt = target.__new__(target)
    rebuilt.args = exc.args
    rebuilt.__dict__.update(getattr(exc, "__dict__", {}))
    return rebuilt


def _status(outcome: Any, code: int) -> str:
    if outcome is None:
        return f"crashed ({_describe_exit(code)})"
    if outcome[0] == "error":
        return f"error ({outcome[3]})"
    return outcome[0]


def _traceback(outcome: Any) -> str | None:
    """The traceback a failed call sends back (credentials out of any URL in it): kept with
    the run, so `amber runs show` and `amber ui` show why a step failed."""
    if outcome is None or outcome[0] not in ("error", "load-error"):
        return None
    text = outcome[-1]
    return redact_text(text) if isinstance(text, str) and text else None


def _describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def _unpicklable(s: Step, args: Sequence[Any], kwargs: dict[str, Any], exc: Exception) -> str:

    named = [(f"argument {i + 1}", a) for i, a in enumerate(args)]
    named += [(f"argument '{k}'", v) for k, v in kwargs.items()]
    for label, value in named:
        try:
            cloudpickle.dumps(value)
        except Exception as inner:  # noqa: BLE001
            return f"step {s.name}: {label} ({type(value).__name__}) cannot be pickled: {inner}"
    return f"step {s.name}: the function cannot be pickled: {exc}"


@cache
def _worker_source() -> str:
    """The worker's source, read once: it runs with ``python -c`` in the step's env."""
    return (Path(__file__).parent / "_worker.py").read_text()


def _run_worker(env: HydratedEnv, payload: str, result: str) -> int:
    """Run the worker in ``env``, streaming its output live to ours; its exit code."""

    environ = env_environ(env)
    environ["PYTHONPATH"] = os.pathsep.join(_caller_paths())
    environ["PYTHONUNBUFFERED"] = "1"
    proc = subprocess.Popen(
        [str(env.python), "-c", _worker_source(), payload, result],
        env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    pumps = [
        threading.Thread(target=_pump, args=(proc.stdout, sys.stdout), daemon=True),
        threading.Thread(target=_pump, args=(proc.stderr, sys.stderr), daemon=True),
    ]
    for t in pumps:
        t.start()
    code = proc.wait()
    for t in pumps:
        t.join()
    return code


def _pump(source: Any, target: Any) -> None:
    """Copy a child's output to ours as it comes (works in notebooks, where fd 1 isn't shown)."""

    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    while chunk := os.read(source.fileno(), 65536):
        target.write(decoder.decode(chunk))
        target.flush()
    source.close()


def _caller_paths() -> list[str]:
    """The caller's own source dirs on sys.path: not the stdlib, not site-packages."""

    skip = {
        os.path.realpath(p)
        for key in ("stdlib", "platstdlib", "purelib", "platlib")
        if (p := sysconfig.get_paths().get(key))
    }
    out = []
    for entry in sys.path:
        path = os.path.realpath(entry or os.getcwd())
        if not os.path.isdir(path) or path in skip or "site-packages" in path:
            continue
        if "dist-packages" in path or path.startswith(os.path.realpath(sys.base_prefix) + os.sep):
            continue
        if path not in out:
            out.append(path)
    return out
