"""What ``amber lock`` asks, and its uv calls started before the command has loaded.

A PyPI-only ``amber lock`` spends most of its time waiting for uv, one with a conda part in
rattler's solver; both run outside Python's lock. When the lock memo of ``amber._early``
holds nothing for the command, ``prestart`` reads the command line and the spec with the
few modules that takes and starts uv's calls (PyPI-only) or the whole resolution in a
thread (a conda part); the command then loads the rest meanwhile and takes the spec it read
(``spec_to_lock``) and the calls (``compile_pypi``) or the resolution
(``early_resolution``) over when it asks for exactly the same ones. This module also holds
what both need: the ``LockRequest`` and the spec it makes of a file.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from amber import _early, _hot
from amber.api.session import Session
from amber.spec import Spec, read_spec

if TYPE_CHECKING:
    from amber._progress import Progress
    from amber.channels import CondaConfig
    from amber.lock import Lock
    from amber.policy import Policy
    from amber.resolve import ResolveCaches

__all__ = [
    "LockRequest", "configured_priority", "with_options", "spec_to_lock", "prestart",
    "early_resolution",
]  # fmt: skip


@dataclass(frozen=True)
class LockRequest:
    """The options of ``amber lock``; at most one of ``check``, ``merge``, ``update``."""

    output: Path | None = None
    platforms: tuple[str, ...] = ()
    as_of: str | None = None
    update: tuple[str, ...] = ()
    check: bool = False
    merge: bool = False
    python: str | None = None
    channel_priority: str | None = None  # --channel-priority: over the spec's and the settings'
    categories: tuple[str, ...] = ()  # --category: of a conda-lock file
    environment: str | None = None  # --environment: of a pixi.lock or a pixi manifest


def configured_priority(spec: Spec, session: Session) -> Spec:
    """``spec`` under the configured ``channel_priority`` (``.condarc``, Amber's settings
    files, ``$CONDA_CHANNEL_PRIORITY``) unless it sets its own: conda's default (flexible)
    < the settings < the spec < ``amber lock --channel-priority``."""
    configured = session.conda.channel_priority
    if configured and not spec.channel_priority:
        return spec.with_channel_priority(configured)
    return spec


def with_options(spec: Spec, request: LockRequest) -> Spec:
    """``spec`` with the command's ``-p``, ``--as-of`` and ``--channel-priority``."""
    if request.platforms:
        spec = spec.with_platforms(request.platforms)
    if request.as_of:
        spec = spec.with_as_of(request.as_of)
    if request.channel_priority:
        spec = spec.with_channel_priority(request.channel_priority)
    return spec


# Specs read by `prestart`, for the command to take rather than read the file again:
# (path, its fingerprint, the request) -> (the settings read with, the spec, its warnings).
_SPECS: dict[tuple[str, str, LockRequest], tuple[CondaConfig, Spec, list[_Said]]] = {}
_Said = tuple["Warning | str", type[Warning]]


def request_of(options: dict[str, list[str]]) -> LockRequest:
    """The request of ``amber lock``'s options as ``amber._early.lock_options`` gives them (a
    repeated option's last value, as click takes it)."""
    output, python = options.get("output", [None])[-1], options.get("python", [None])[-1]
    return LockRequest(
        output=Path(output) if output is not None else None,
        platforms=tuple(options.get("platform", ())),
        python=python,
    )


def _spec_key(path: Path, request: LockRequest) -> tuple[str, str, LockRequest]:
    """What the spec ``spec_to_lock`` reads depends on: the file as it is now, and the
    request's options but ``-o`` (which only says where the lock goes)."""
    fingerprint = _hot.fingerprints([str(path)])[0][1]
    return os.path.abspath(path), fingerprint, replace(request, output=None)


def spec_to_lock(path: Path, request: LockRequest, session: Session) -> Spec:
    """The spec ``amber lock`` resolves for the spec file at ``path``."""
    read = _SPECS.pop(_spec_key(path, request), None)
    if read is not None and read[0] == session.conda:
        for message, category in read[2]:  # said now, by the command, as a first read would
            warnings.warn(message, category, stacklevel=2)
        return read[1]
    spec = read_spec(
        path, python=request.python, channel_config=session.conda, environment=request.environment
    )
    return with_options(configured_priority(spec, session), request)


def _read_early(path: Path, request: LockRequest, session: Session) -> Spec:
    """``spec_to_lock`` for ``prestart``: its warnings kept for the command to say."""
    key = _spec_key(path, request)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        spec = spec_to_lock(path, request, session)
    _SPECS[key] = (session.conda, spec, [(w.message, w.category) for w in caught])
    return spec


class _Resolving:
    """A resolution ``prestart`` began in a thread, and what it was given."""

    def __init__(self, given: tuple[object, ...], run: Callable[[], Lock]):
        self.given = given
        self.result: Lock | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(run,), daemon=True)
        self._thread.start()

    def _run(self, run: Callable[[], Lock]) -> None:
        try:
            self.result = run()
        except BaseException as exc:  # noqa: BLE001 - handed to the command, which raises it
            self.error = exc

    def wait(self) -> Lock:
        self._thread.join()
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result


_RESOLVING: list[_Resolving] = []


def early_resolution(
    spec: Spec,
    caches: ResolveCaches,
    channel_config: CondaConfig,
    policy: Policy | None,
    progress: Progress,
) -> Lock | None:
    """The lock of the resolution ``prestart`` began for exactly these inputs (waiting for
    it to end), else None (the caller resolves)."""
    given = (spec, caches, channel_config, policy)
    for early in list(_RESOLVING):
        if early.given == given:
            _RESOLVING.remove(early)
            with progress.task(f"Resolving {spec} for {', '.join(spec.target_platforms)}"):
                return early.wait()
    return None


def prestart(argv: Sequence[str]) -> None:
    """For ``amber lock [-f FILE] [-o OUT] [-p P]... [--python V] [-q]``: read the spec now,
    then start uv's calls (``amber._early``) for a PyPI-only spec, or begin the whole
    resolution in a thread for a spec with a conda part. Whatever this does not understand,
    it leaves alone."""
    try:
        _prestart(argv)
    except Exception:  # noqa: BLE001 - only a head start: the command itself reports errors
        _early.discard()


def _prestart(argv: Sequence[str]) -> None:
    options = _early.lock_options(argv)
    file = _early.spec_path(options) if options is not None else None
    if options is None or file is None or not os.path.isfile(file):
        return
    path = Path(file)
    if (path.parent / "uv.lock").exists():
        return  # a uv project may take its packages from its uv.lock
    from amber import formats  # noqa: PLC0415 - see the module's docstring
    from amber.lock import is_amber_lock  # noqa: PLC0415

    if formats.detect(path) is not None or is_amber_lock(path):
        return
    request = request_of(options)
    session = Session.open(quiet=True)
    spec = _read_early(path, request, session)
    if spec.is_conda:
        _resolve_early(spec, session)
    elif spec.pypi and not _early.started():  # (else the lock memo's calls run already)
        from amber.resolve.pypi import prestart as start  # noqa: PLC0415

        for platform in spec.target_platforms:
            start(spec, platform, spec.python_version, session.store.uv_cache, session.network)


def _resolve_early(spec: Spec, session: Session) -> None:
    """Begin resolving a spec with a conda part in a thread: rattler's solve runs outside
    Python's lock, beside the command's loading."""
    # Loaded here, not in the thread: two threads importing at once can deadlock.
    import amber.resolve.conda  # noqa: PLC0415, F401

    if spec.pypi:
        import amber.resolve.pypi  # noqa: PLC0415, F401
    from amber._progress import Progress  # noqa: PLC0415
    from amber.api.policy import policy_for  # noqa: PLC0415
    from amber.resolve import ResolveCaches, resolve  # noqa: PLC0415

    store = session.store
    caches = ResolveCaches(store.repodata, store.uv_cache, store.conda_pkgs, store.network)
    conda, policy = session.conda, policy_for(session, spec.source)

    def run() -> Lock:
        lock = resolve(spec, caches, Progress(quiet=True), channel_config=conda, policy=policy)
        lock.dumps()  # its text, made once, here too: the command stores and writes it
        return lock

    _RESOLVING.append(_Resolving((spec, caches, conda, policy), run))
