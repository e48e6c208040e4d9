"""Packages' link scripts and clobbered files, as conda handles them.

conda (``conda/core/link.py``) shows a package's ``info/prelink_messages/*`` before
linking it, runs ``bin/.<name>-pre-link.sh`` from the extracted package, links, then
runs each ``bin/.<name>-post-link.sh`` in link order inside the activated env, with
``PREFIX``, ``PKG_NAME``, ``PKG_VERSION``, ``PKG_BUILDNUM`` set; after each script it
prints and removes ``$PREFIX/.messages.txt``; a failing pre- or post-link script fails
the transaction. rattler links the files (its own script runner can neither show
messages nor fail an install), so Amber runs the scripts here, in conda's order.

Files shipped by two packages: rattler keeps one at the path and moves the other under
``__clobbers__/<package>/``; conda warns (``ClobberWarning``) and the package linked later
wins. ``settle_clobbers`` makes the later-linked one win, records both, and says so.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from amber._fs import write_atomic
from amber._progress import Progress
from amber.errors import HydrateError
from amber.store.env import capture_activation, run_activation_scripts

__all__ = [
    "Clobber", "link_order", "run_link_scripts", "settle_clobbers", "show_prelink_messages",
]  # fmt: skip

_CLOBBERS = "__clobbers__"
_TAIL = 2000  # characters of a failing script's output quoted in the error


@dataclass(frozen=True)
class Clobber:
    """``path`` is shipped by both packages; ``winner``'s file is the one in the env."""

    path: str
    winner: str
    loser: str


def link_order(records: Sequence[Any]) -> list[Any]:
    """``records`` (rattler ``RepoDataRecord``s) in the order conda links them: dependencies
    first, each round of packages whose dependencies are linked taken by name (conda's
    ``PrefixGraph`` sort); a cycle is broken at its first name."""
    by_name = {_name(r): r for r in records}
    waiting = {
        name: {d.split()[0] for d in record.depends if d.split() and d.split()[0] in by_name}
        - {name}
        for name, record in by_name.items()
    }
    order: list[Any] = []
    while waiting:
        ready = sorted(n for n, deps in waiting.items() if not deps) or [min(waiting)]
        for name in ready:
            order.append(by_name[name])
            del waiting[name]
        for deps in waiting.values():
            deps.difference_update(ready)
    return order


def _name(record: Any) -> str:
    return str(record.name.normalized)


def _dist(record: Any) -> str:
    return f"{_name(record)}-{record.version}-{record.build}"


def show_prelink_messages(records: Sequence[Any], cache_dir: Path, progress: Progress) -> None:
    """Each package's ``info/prelink_messages/*``, in link order, as conda prints them."""
    for record in link_order(records):
        messages = cache_dir / _dist(record) / "info" / "prelink_messages"
        if messages.is_dir():
            for item in sorted(p for p in messages.rglob("*") if p.is_file()):
                text = item.read_text(errors="replace").rstrip()
                progress.message(f"Pre-link message from {_dist(record)} ({item.name}):\n{text}")


def run_link_scripts(
    prefix: Path,
    records: Sequence[Any],
    cache_dir: Path,
    policy: str,
    progress: Progress,
) -> None:
    """Run the pre- and post-link scripts of ``records`` (in link order) as conda does;
    ``policy`` ``refuse`` names each script and runs none."""
    ordered = link_order(records)
    pre = [
        (r, cache_dir / _dist(r) / "bin" / f".{_name(r)}-pre-link.sh")
        for r in ordered
        if (cache_dir / _dist(r) / "bin" / f".{_name(r)}-pre-link.sh").is_file()
    ]
    post = [
        (r, prefix / "bin" / f".{_name(r)}-post-link.sh")
        for r in ordered
        if (prefix / "bin" / f".{_name(r)}-post-link.sh").is_file()
    ]
    if not pre and not post:
        return
    if policy == "refuse":
        for record, script in [*pre, *post]:
            action = "pre-link" if script in {s for _, s in pre} else "post-link"
            progress.message(
                f"Not running the {action} script of {_dist(record)} "
                f"(AMBER_LINK_SCRIPTS=refuse): {script}"
            )
        return
    base = dict(os.environ)
    for record, script in pre:
        env = {**base, "SOURCE_DIR": str(cache_dir / _dist(record))}
        _run(prefix, record, script, "pre-link", ["bash", "-x", str(script)], env, progress)
    if not post:
        return
    # Post-link scripts run in the activated env (conda: run_script(..., activate=True)).
    activation = capture_activation(prefix, conda=True)
    activated = activation.apply(base)
    if activation.scripts:
        activated = run_activation_scripts(prefix, activation.scripts, activated, quiet=True)
    for record, script in post:
        argv = ["bash", "--noprofile", "--norc", "-c", '. "$0"', str(script)]
        _run(prefix, record, script, "post-link", argv, activated, progress)


def _run(
    prefix: Path,
    record: Any,
    script: Path,
    action: str,
    argv: list[str],
    environ: dict[str, str],
    progress: Progress,
) -> None:
    env = {
        **environ,
        "ROOT_PREFIX": str(prefix),
        "PREFIX": str(prefix),
        "PKG_NAME": _name(record),
        "PKG_VERSION": str(record.version),
        "PKG_BUILDNUM": str(record.build_number),
        "PATH": os.pathsep.join([str(script.parent), environ.get("PATH", "")]),
    }
    try:
        result = subprocess.run(
            argv, env=env, cwd=str(script.parent), capture_output=True, check=False
        )
    except OSError as exc:
        raise HydrateError(
            f"cannot run the {action} script of {_dist(record)} ({script}): {exc}",
            prefix=prefix,
            package=_dist(record),
        ) from None
    messages = _messages(prefix)
    if result.returncode != 0:
        output = (result.stdout + result.stderr).decode(errors="replace").strip()
        raise HydrateError(
            f"the {action} script of {_dist(record)} failed (exit code {result.returncode}), "
            f"so the env was not installed: {script}"
            + (f"\n==> script messages <==\n{messages.strip()}" if messages else "")
            + (f"\n==> script output (end) <==\n{output[-_TAIL:]}" if output else ""),
            prefix=prefix,
            package=_dist(record),
        )
    if messages:
        progress.message(f"Message from the {action} script of {_dist(record)}:\n{messages}")


def _messages(prefix: Path) -> str:
    """``$PREFIX/.messages.txt``, read and removed, as conda's ``messages()``."""
    path = prefix / ".messages.txt"
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    path.unlink(missing_ok=True)
    return text.rstrip()


def settle_clobbers(prefix: Path, records: Sequence[Any], progress: Progress) -> list[Clobber]:
    """Give each path shipped by two packages to the one linked later (conda's rule), keep
    the other's file under ``__clobbers__/``, and warn naming the path and both packages."""
    if not (prefix / _CLOBBERS).is_dir():
        return []  # rattler moved no file aside: nothing to settle, no conda-meta to read
    order = {_name(r): i for i, r in enumerate(link_order(records))}
    metas: dict[str, tuple[Path, dict[str, Any]]] = {}
    for file in (prefix / "conda-meta").glob("*.json"):
        try:
            data = json.loads(file.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and "name" in data:
            metas[data["name"]] = (file, data)
    owners: dict[str, str] = {}
    for name, (_, data) in metas.items():
        for path in data.get("files", ()):
            owners.setdefault(path, name)
    found: list[Clobber] = []
    changed: set[str] = set()
    for name, (_, data) in sorted(metas.items()):
        mark = f"{_CLOBBERS}/{name}/"
        for moved in [p for p in data.get("files", ()) if p.startswith(mark)]:
            path = moved[len(mark) :]
            kept = owners.get(path)
            if kept is None or kept == name:
                continue
            winner, loser = kept, name
            if order.get(name, -1) > order.get(kept, -1):  # linked later: conda gives it the path
                _swap(prefix, path, moved, f"{_CLOBBERS}/{kept}/{path}")
                _rename(metas[kept][1], path, f"{_CLOBBERS}/{kept}/{path}")
                _rename(data, moved, path)
                changed.update((name, kept))
                owners[path] = name
                winner, loser = name, kept
            found.append(Clobber(path, _meta_dist(metas[winner][1]), _meta_dist(metas[loser][1])))
    for name in sorted(changed):
        file, data = metas[name]
        write_atomic(file, json.dumps(data, indent=2, sort_keys=True))
    for c in found:
        progress.message(
            f"ClobberWarning: {c.path} is shipped by both {c.winner} and {c.loser}; the env "
            f"has {c.winner}'s (linked later, as conda does); {c.loser}'s is kept at "
            f"{_CLOBBERS}/{c.loser.rsplit('-', 2)[0]}/{c.path}"
        )
    return found


def _meta_dist(data: dict[str, Any]) -> str:
    return f"{data['name']}-{data['version']}-{data['build']}"


def _swap(prefix: Path, path: str, moved: str, aside: str) -> None:
    """The file at ``moved`` takes ``path``; the one there goes to ``aside``."""
    (prefix / aside).parent.mkdir(parents=True, exist_ok=True)
    os.replace(prefix / path, prefix / aside)
    os.replace(prefix / moved, prefix / path)
    directory = (prefix / moved).parent
    while directory != prefix / _CLOBBERS and not any(directory.iterdir()):
        directory.rmdir()
        directory = directory.parent


def _rename(data: dict[str, Any], old: str, new: str) -> None:
    """``old`` becomes ``new`` in a conda-meta record's file lists."""
    data["files"] = [new if p == old else p for p in data.get("files", ())]
    for entry in (data.get("paths_data") or {}).get("paths", ()):
        if entry.get("_path") == old:
            entry["_path"] = new
