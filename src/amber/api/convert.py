"""``amber export`` and ``amber import``: locks to other tools' formats, and existing envs in."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

from amber import formats
from amber._fs import write_atomic
from amber._progress import Progress
from amber.api import lock_of
from amber.api.envs import resolve_ref
from amber.api.wheels import metadata_dirs
from amber.errors import AmberError
from amber.inspect.adopt import Adopted, adopt_prefix, write_adopted
from amber.lock import Lock
from amber.store import Store
from amber.store.refs import split_ref

__all__ = ["Written", "AdoptedFiles", "export", "adopt"]


@dataclass(frozen=True)
class Written:
    """An export: the files written (none: ``text`` goes to standard output) and what it lost."""

    text: str
    files: tuple[Path, ...]
    lost: tuple[str, ...]


@dataclass(frozen=True)
class AdoptedFiles:
    """An adopted env and the spec and lock files written for it."""

    adopted: Adopted
    spec_path: Path
    lock_path: Path


def export(
    ref: str, fmt: str, options: formats.ExportOptions, output: Path | None, store: Store
) -> Written:
    """Write the lock ``ref`` names in format ``fmt`` to ``output`` (one file per platform
    beside it when the format holds one platform), or return its text without ``output``."""
    module = formats.get(fmt)
    if options.lock_version is not None and not getattr(module, "LOCK_VERSIONS", ()):
        raise AmberError(f"--lock-version is a version of pixi.lock; {fmt} has none")
    lock = lock_of(ref, store)
    if options.name is None:
        options = dataclasses.replace(options, name=_env_name(ref, lock, store))
    if fmt == "cyclonedx" and not options.metadata_dirs:
        options = dataclasses.replace(options, metadata_dirs=metadata_dirs(lock, store))
    exported = module.export(lock, options)
    if lock.spec.variables and not getattr(module, "CARRIES_VARIABLES", False):
        names = ", ".join(name for name, _ in lock.spec.variables)
        said = f"the env's variables ({names}) are not carried: this format has no place for them"
        if fmt == "pixi":
            said += " (they belong in pixi.toml's [activation.env])"
        exported = dataclasses.replace(exported, lost=(*exported.lost, said))
    if exported.files:
        if output is None:
            raise AmberError(
                f"{fmt} holds one platform per file and the lock has several "
                f"({', '.join(exported.files)}): give -o FILE (one file per platform is "
                "written beside it) or --platform"
            )
        stem = output.name.removesuffix(module.SUFFIX) if module.SUFFIX else output.stem
        written = []
        for platform, text in sorted(exported.files.items()):
            target = output.with_name(f"{stem}-{platform}{module.SUFFIX}")
            write_atomic(target, text)
            written.append(target)
        return Written("", tuple(written), exported.lost)
    if output is not None:
        write_atomic(output, exported.text)
        return Written("", (output,), exported.lost)
    return Written(exported.text, (), exported.lost)


def _env_name(ref: str, lock: Lock, store: Store) -> str | None:
    """The name the user knows the env by: NAME of a ``NAME[:TAG]`` reference, else the
    name the env was installed under (its spec's ``name:``)."""
    if not os.path.isfile(ref) and resolve_ref(ref, store) is not None:
        parsed = split_ref(ref)
        if parsed is not None:
            return parsed[0]
    named = [e.name for e in store.envs() if e.full_id == lock.full_id and e.name]
    return named[0] if named else None


def adopt(
    prefix: Path,
    output: Path,
    store: Store,
    progress: Progress,
    *,
    overwrite: bool = False,
    index_url: str | None = None,
) -> AdoptedFiles:
    """Adopt the conda env at ``prefix``: write its spec and lock into ``output``, keep the lock."""
    adopted = adopt_prefix(prefix, store=store, index_url=index_url, progress=progress)
    spec_path, lock_path = write_adopted(adopted, output, overwrite=overwrite)
    lock = adopted.lock
    store.save_lock(lock.dumps(), lock.req_id, lock.full_id)
    return AdoptedFiles(adopted, spec_path, lock_path)
