"""Ship a hydrated env as one relocatable archive, and put one where it will live.

``pack`` refuses an env that differs from its lock (see verify), then archives
every file of it (``__pycache__`` aside: Python rebuilds those) with the lock in
``.amber/``, a manifest of the files that embed the env's prefix (see
_relocate), and ``bin/amber-unpack``: a shell script carrying _relocate, run by
the env's own Python (else ``python3``), for machines without Amber.

``unpack`` extracts into a temporary sibling of the destination, rewrites the
prefix for the destination, and renames it into place: a failure leaves nothing.
"""

from __future__ import annotations

import json
import mmap
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from amber._fs import (
    TreeEntry,
    atomic_output,
    owner_token,
    remove_tree,
    sweep_scratch,
    umask,
    walk_tree,
)
from amber._progress import Progress
from amber.errors import OutputError, PackError
from amber.inspect.verify import verify_env
from amber.ship import _archive, _relocate
from amber.store.conda_meta import prefix_files
from amber.store.env import Env

__all__ = ["pack_env", "unpack", "unpack_script", "PackResult", "UNPACK_SCRIPT"]

UNPACK_SCRIPT = "bin/amber-unpack"
_UNPACKING = ".unpack-"  # .DEST.unpack-<owner>-*: where an archive is unpacked first
_SHOWN = 40  # differences listed when refusing a modified env

_SCRIPT_HEAD = """#!/bin/sh
# amber-unpack: make this env work where it now is (written by `amber pack`).
# Usage: tar -xf ENV.tar.zst -C DEST && DEST/bin/amber-unpack
# It rewrites the old prefix in the files listed in .amber/pack.json; running it
# again after moving the directory is fine. Needs a Python 3: the env's own, else python3.
root=$(cd -- "$(dirname -- "$0")/.." && pwd -P) || exit 1
for py in "$root/bin/python" python3 python; do
  if "$py" -c 'import sys; sys.exit(sys.version_info < (3, 6))' >/dev/null 2>&1; then
    exec "$py" - "$root" <<'AMBER_RELOCATE_PY'
"""
_SCRIPT_TAIL = """AMBER_RELOCATE_PY
  fi
done
echo "amber-unpack: needs a Python 3: none in this env, none on PATH" >&2
exit 1
"""


@dataclass(frozen=True)
class PackResult:
    output: Path
    files: int  # files, links and directories packed
    bytes: int  # apparent size of the packed files
    relocatable: int  # files that embed the prefix (rewritten by unpack)
    archive_bytes: int


def pack_env(env: Env, output: Path, progress: Progress | None = None) -> PackResult:
    """Write ``env`` to ``output`` (.tar.zst, .tar.gz, .tar.bz2, .tar or .zip) atomically."""
    progress = progress or Progress(quiet=True)
    output = Path(output)
    fmt = _archive.format_of_name(output)
    with progress.task(f"Checking {env.full_id[:12]} against its lock"):
        result = verify_env(env)
    if result.skipped:
        # As conda-pack: the env borrows that code from a folder it does not contain.
        found = "\n".join(f"- {name} (from {source})" for name, source in result.skipped)
        raise PackError(
            "Cannot pack an environment with editable packages installed (`-e ./path`): "
            f"their code lives outside the env. Editable packages found:\n{found}\n"
            "Make the requirement non-editable (`./path` instead of `-e ./path`, or a built "
            "wheel) and lock again, then pack."
        )
    if not result.ok:
        lines = result.lines()
        more = [f"... and {len(lines) - _SHOWN} more"] if len(lines) > _SHOWN else []
        raise PackError(
            f"{result.summary()}; amber pack ships envs exactly as locked:\n  "
            + "\n  ".join(lines[:_SHOWN] + more)
            + f"\nRestore it (amber verify --repair {env.path}) or put the change in the spec."
        )
    entries = _entries(env.path)
    manifest = _manifest(env, entries)
    total = sum(st.st_size for _, kind, st in entries if kind == "file")
    try:
        with atomic_output(output) as out:
            writer = _archive.open_writer(out, fmt)
            with progress.bar(f"Packing {env.full_id[:12]} into {output.name}", total) as advance:
                for rel, kind, st in entries:
                    path = os.path.join(env.path, rel)
                    if kind == "dir":
                        writer.add_dir(rel, st)
                    elif kind == "link":
                        writer.add_symlink(rel, os.readlink(path), st)
                    else:
                        writer.add_file(rel, path, st)
                        advance(st.st_size)
                writer.add_bytes(_relocate.MANIFEST, json.dumps(manifest, indent=1).encode())
                writer.add_bytes(UNPACK_SCRIPT, unpack_script(), 0o755)
                writer.close()
    except OSError as exc:
        raise PackError(f"cannot pack {env.path} into {output}: {exc}", path=output) from None
    except OutputError as exc:  # a directory, a path under a file, a read-only place
        raise PackError(f"cannot pack {env.path}: {exc}", path=output) from None
    return PackResult(output, len(entries), total, len(manifest["files"]), output.stat().st_size)


def unpack_script() -> bytes:
    """``bin/amber-unpack``: a few lines of shell, then _relocate for a Python to run."""
    source = Path(_relocate.__file__).read_text()
    return (_SCRIPT_HEAD + source + _SCRIPT_TAIL).encode()


def unpack(archive: Path, dest: Path, progress: Progress | None = None) -> int:
    """Extract an ``amber pack`` archive into the new directory ``dest`` and make it work
    there; returns the number of files rewritten for the new prefix."""
    progress = progress or Progress(quiet=True)
    archive, dest = Path(archive), Path(os.path.abspath(dest))
    if not os.path.isfile(archive):  # False, not OSError, for a name too long
        raise PackError(f"{archive}: no such archive", path=archive)
    if os.path.lexists(dest) and (not os.path.isdir(dest) or any(dest.iterdir())):
        raise PackError(f"{dest} exists and is not empty: unpack into a new directory", path=dest)
    _archive.sniff(archive)  # a clear error before anything is created
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        sweep_scratch(dest.parent, _UNPACKING)  # what unpacks killed midway left here
        prefix = f".{dest.name}{_UNPACKING}{owner_token()}-"
        tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=prefix))
    except OSError as exc:
        raise PackError(f"cannot create {dest}: {exc.strerror}", path=dest) from None
    try:
        size = archive.stat().st_size
        with progress.bar(f"Unpacking {archive.name}", size) as advance:
            _archive.extract(archive, tmp, advance)
        if not (tmp / _relocate.MANIFEST).is_file():
            raise PackError(
                f"{archive} was not made by `amber pack` (no {_relocate.MANIFEST}); "
                "a bundle made by `amber pack --packages` is installed with `amber install`",
                path=archive,
            )
        with progress.task(f"Rewriting the prefix for {dest}"):
            try:
                count = _relocate.relocate(str(tmp), str(dest))
            except _relocate.RelocateError as exc:
                raise PackError(str(exc)) from None
        os.chmod(tmp, 0o777 & ~umask())
        if dest.exists():
            dest.rmdir()
        os.rename(tmp, dest)
    except OSError as exc:
        remove_tree(tmp)
        raise PackError(f"cannot unpack {archive} into {dest}: {exc}", path=archive) from None
    except BaseException:
        remove_tree(tmp)
        raise
    return count


def _entries(prefix: Path) -> list[tuple[str, str, os.stat_result]]:
    """(relative path, 'dir' | 'link' | 'file', lstat) for everything to pack, parents
    first, in a stable order; bytecode and an earlier pack's own files left out."""
    # An earlier pack's own files; the installers' cache tag and lock file at the root.
    own = {_relocate.MANIFEST, UNPACK_SCRIPT, "CACHEDIR.TAG", ".lock"}

    def skip(e: TreeEntry) -> bool:
        if e.kind == "dir":
            return os.path.basename(e.rel) == "__pycache__"
        return e.kind == "other" or (e.kind == "file" and (e.rel.endswith(".pyc") or e.rel in own))

    def fail(exc: OSError) -> None:
        raise exc

    return [(e.rel, e.kind, e.stat) for e in walk_tree(prefix, skip=skip, onerror=fail)]


def _manifest(env: Env, entries: list[tuple[str, str, os.stat_result]]) -> dict:
    """The prefix, the files that embed it (text or binary) and symlinks into it."""
    prefix = str(env.path)
    needle = prefix.encode()
    modes = _conda_file_modes(env.path)
    files, links = [], []
    for rel, kind, st in entries:
        path = os.path.join(prefix, rel)
        if kind == "link":
            target = os.readlink(path)
            if target == prefix or target.startswith(prefix + "/"):
                links.append(rel)
        elif kind == "file" and st.st_size >= len(needle):
            with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
                if m.find(needle) >= 0:
                    mode = modes.get(rel) or ("binary" if m.find(b"\0") >= 0 else "text")
                    files.append([rel, mode])
    return {
        "amber_pack": 1,
        "full_id": env.full_id,
        "prefix": prefix,
        "files": files,
        "links": links,
    }


def _conda_file_modes(prefix: Path) -> dict[str, str]:
    """Path -> 'text' | 'binary' as conda-meta records it for prefix-placeholder files."""
    return {
        f.path: f.file_mode
        for f in prefix_files(prefix)
        if f.prefix_placeholder and f.file_mode in ("text", "binary")
    }
