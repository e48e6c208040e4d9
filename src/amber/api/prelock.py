"""What ``amber lock`` asks, and its uv calls started before the command has loaded.

A PyPI-only ``amber lock`` spends most of its time waiting for uv. When the lock memo of
``amber._early`` holds nothing for the command, ``prestart`` reads the command line and
the spec with the few modules that takes, starts uv's calls and remembers them; the command
then loads the rest while uv works, and ``compile_pypi`` takes the calls over when it plans
exactly the same ones. This module also holds what both need: the ``LockRequest`` and the
spec it makes of a file.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from amber import _early
from amber.api.session import Session
from amber.spec import Spec, read_spec

__all__ = ["LockRequest", "configured_priority", "spec_to_lock", "prestart"]


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


def spec_to_lock(path: Path, request: LockRequest, session: Session) -> Spec:
    """The spec ``amber lock`` resolves for the spec file at ``path``."""
    spec = read_spec(
        path, python=request.python, channel_config=session.conda, environment=request.environment
    )
    return with_options(configured_priority(spec, session), request)


def prestart(argv: Sequence[str]) -> None:
    """For ``amber lock [-f FILE] [-o OUT] [-p P]... [--python V] [-q]`` of a spec with PyPI
    packages and no conda part: start uv's calls now (``amber._early``). Whatever this does
    not understand, it leaves alone."""
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
    python = options.get("python", [None])[-1]
    request = LockRequest(platforms=tuple(options.get("platform", ())), python=python)
    session = Session.open(quiet=True)
    spec = spec_to_lock(path, request, session)
    if spec.is_conda or not spec.pypi:
        return
    from amber.resolve.pypi import prestart as start  # noqa: PLC0415

    for platform in spec.target_platforms:
        start(spec, platform, spec.python_version, session.store.uv_cache, session.network)
