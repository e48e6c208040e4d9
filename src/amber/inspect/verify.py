"""Integrity of a hydrated env: every file against what its package recorded.

Conda files come from ``conda-meta/*.json`` (rattler's PrefixRecord, ``paths_data``):
the hash compared is ``sha256_in_prefix`` when rattler recorded one (the installed
content, after the prefix placeholder was replaced), else ``sha256``. A file with a
prefix placeholder but no in-prefix hash is only checked for presence. Symlinks
(``softlink``) are checked for presence only.

PyPI files come from each ``*.dist-info/RECORD`` that conda does not own (urlsafe
base64 sha256 digest and size; RECORD's own line carries no hash: presence only).

Bytecode is checked by what Python would run: a ``__pycache__/<stem>.<tag>.pyc`` whose
``<stem>.py`` exists must hold the code that compiling that (verified) source gives,
whoever wrote it (a package, Python at import time, ``compileall``); any other ``.pyc``
is checked against its package's recorded hash, or is ``extra`` when no package owns it.
A missing ``.pyc`` is never reported: Python writes it again.

Files no package owns are ``extra``, except the ones the installers themselves create
(see ``_IGNORED_*``).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from amber._fs import TreeEntry, walk_tree, write_atomic
from amber.errors import AmberError
from amber.inspect import _bytecode
from amber.store.conda_meta import prefix_files
from amber.store.env import Env
from amber.store.pkgcache import wheel_files

__all__ = ["verify_env", "VerifyResult", "Modified", "Missing"]

# Ignored anywhere in the env (when no package owns them):
#   .amber/       Amber's own metadata (marker, activation, lock)
#   conda-meta/   the package records themselves (and rattler's `history`)
#   CACHEDIR.TAG  written by rattler and uv at the prefix root
#   .lock         uv's lock file at the prefix root, taken while it installs
_IGNORED_DIRS = {".amber", "conda-meta"}
_IGNORED_ROOT_FILES = {"CACHEDIR.TAG", ".lock"}
# Ignored in PyPI-only envs (no conda-meta), created by `uv venv`, not by a package:
#   pyvenv.cfg, .gitignore, lib64 (-> lib), bin/python* (links to the interpreter),
#   bin/activate* and bin/deactivate.bat, bin/pydoc.bat (activation scripts),
#   site-packages/_virtualenv.py and _virtualenv.pth (virtualenv's patch, some uv versions)
_IGNORED_VENV_ROOT = {"pyvenv.cfg", ".gitignore", "lib64"}
_IGNORED_VENV_BIN_PREFIXES = ("activate", "python")
_IGNORED_VENV_BIN = {"deactivate.bat", "pydoc.bat"}
_IGNORED_VENV_SITE = {"_virtualenv.py", "_virtualenv.pth"}


@dataclass(frozen=True)
class Modified:
    """A file whose content differs from what its package recorded."""

    path: str  # relative to the env
    package: str
    expected_sha256: str | None
    actual_sha256: str | None
    expected_size: int | None
    actual_size: int
    reason: str = ""  # bytecode: why it is not what its source compiles to


@dataclass(frozen=True)
class Missing:
    """A file a package installed that is gone."""

    path: str
    package: str


@dataclass
class VerifyResult:
    env: Env
    modified: list[Modified] = field(default_factory=list)
    missing: list[Missing] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    checked: int = 0  # files owned by a package and checked
    # Editable installs (``-e ./path``): (name, source folder) whose source tree, outside the
    # env, is not checked (their ``.pth`` and dist-info, inside it, are).
    skipped: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.modified or self.missing or self.extra)

    def lines(self) -> list[str]:
        """One line per difference: ``modified``/``missing``/``extra`` and the path."""
        out = [
            f"modified  {m.path}  ({m.package}: {m.reason})"
            if m.reason
            else f"modified  {m.path}  ({m.package}: expected sha256 "
            f"{(m.expected_sha256 or '-')[:12]} / {m.expected_size} B, found "
            f"{(m.actual_sha256 or '-')[:12]} / {m.actual_size} B)"
            for m in self.modified
        ]
        out += [f"missing   {m.path}  ({m.package})" for m in self.missing]
        return out + [f"extra     {path}" for path in self.extra]

    def summary(self) -> str:
        return (
            f"{self.env.path}: {len(self.modified)} modified, {len(self.missing)} missing, "
            f"{len(self.extra)} extra files"
        )

    def to_json(self) -> dict:
        return {
            "env": self.env.full_id,
            "path": str(self.env.path),
            "ok": self.ok,
            "checked": self.checked,
            "modified": [vars(m) for m in self.modified],
            "missing": [vars(m) for m in self.missing],
            "extra": list(self.extra),
            "skipped_editable": [{"name": n, "source": src} for n, src in self.skipped],
        }


@dataclass(frozen=True)
class _Expected:
    package: str
    sha256: str | None  # None: presence only
    size: int | None
    kind: str = "file"  # file | link | dir


def _editable(prefix: Path) -> list[tuple[str, str]]:
    """The editable installs in ``prefix`` (PEP 610 ``direct_url.json``, ``dir_info.editable``):
    (name, the source folder it points at)."""
    found = []
    for direct in sorted(prefix.glob("lib/python*/site-packages/*.dist-info/direct_url.json")):
        try:
            data = json.loads(direct.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and (data.get("dir_info") or {}).get("editable") is True:
            name = direct.parent.name.removesuffix(".dist-info").rsplit("-", 1)[0]
            found.append((name, str(data.get("url", "")).removeprefix("file://")))
    return found


def verify_env(env: Env) -> VerifyResult:
    """Check every file of ``env`` against its package's record; never modifies a file of
    the env (it remembers, in ``.amber/``, the bytecode it found to match its source)."""
    prefix = Path(env.path)
    result = VerifyResult(env)
    expected: dict[str, _Expected] = {}
    conda = (prefix / "conda-meta").is_dir()
    if conda:
        _conda_expected(prefix, expected)
    _pypi_expected(prefix, expected)
    present = _walk(prefix)
    bytecode: dict[str, str] = {}  # a cached .pyc -> its source
    for rel, exp in sorted(expected.items()):
        kind = present.get(rel)
        source = _bytecode.source_of(rel)
        if source is not None and present.get(source) == "file":
            if kind == "file":  # whoever wrote it, it must be what its source compiles to
                bytecode[rel] = source
            continue  # gone: Python writes it again
        if kind is None:
            result.missing.append(Missing(rel, exp.package))
            continue
        result.checked += 1
        if exp.kind != "file":
            continue  # links and directories: presence only
        if kind == "dir":  # a directory where a file was
            result.modified.append(Modified(rel, exp.package, exp.sha256, None, exp.size, -1))
            continue
        _check_content(prefix / rel, rel, exp, result)
    if (prefix / ".amber" / "pack.json").is_file():
        expected.setdefault("bin/amber-unpack", _Expected("amber pack", None, None))
    for rel in sorted(present.keys() - expected.keys()):
        if present[rel] == "dir" or _ignored(rel, conda):
            continue
        source = _bytecode.source_of(rel)
        if source is not None and present.get(source) == "file":
            bytecode[rel] = source
        else:
            result.extra.append(rel)
    _check_bytecode(env, bytecode, expected, result)
    result.extra.sort()
    result.skipped = _editable(prefix)
    return result


def _check_bytecode(
    env: Env, bytecode: dict[str, str], expected: dict[str, _Expected], result: VerifyResult
) -> None:
    """Every cached ``.pyc`` against its source, compiled here or by the env's own Python
    (bytecode of another version), in isolated mode without ``site`` (no ``.pth`` runs)."""
    prefix = Path(env.path)
    memo_path = prefix / ".amber" / _BYTECODE_MEMO
    memo = _read_bytecode_memo(memo_path)
    seen: dict[str, list[list[int]]] = {}  # rel -> stat fingerprints of the pyc and source
    reasons: dict[str, str] = {}
    other: list[str] = []
    for rel, source in bytecode.items():
        stamp = _stamps(prefix / rel, prefix / source)
        if stamp is not None and memo.get(rel) == stamp:
            seen[rel] = stamp  # the very bytes found to match last time: not compiled again
            continue
        reason = _bytecode.check(str(prefix / rel), str(prefix / source))
        if reason is None and stamp is not None:
            seen[rel] = stamp
        if reason == "magic":
            other.append(rel)
        elif reason is not None:
            reasons[rel] = reason
    if other:
        checked = _check_elsewhere(env, {r: bytecode[r] for r in other})
        reasons.update(checked)
        for rel in other:
            stamp = _stamps(prefix / rel, prefix / bytecode[rel])
            if rel not in checked and stamp is not None:
                seen[rel] = stamp
    if seen != memo:
        try:  # a cache only: an env Amber cannot write to is checked in full every time
            write_atomic(memo_path, json.dumps(seen, sort_keys=True))
        except (OSError, AmberError):
            pass
    for rel in sorted(bytecode):
        result.checked += 1
        if rel in reasons:
            owner = expected.get(bytecode[rel])
            package = owner.package if owner else "no package"
            size = (prefix / rel).lstat().st_size
            try:
                actual: str | None = _sha256(prefix / rel)
            except OSError:
                actual = None
            result.modified.append(Modified(rel, package, None, actual, None, size, reasons[rel]))


# .amber/<this>: {pyc: [[size, mtime_ns, ctime_ns, inode] of the pyc, ... of its source]}
# for each .pyc found to hold its source's code. ctime cannot be set back by a user: a
# rewritten file never matches its old fingerprint, so it is compiled and compared again.
_BYTECODE_MEMO = "bytecode-verified.json"


def _stamps(pyc: Path, source: Path) -> list[list[int]] | None:
    try:
        return [_stamp(pyc.lstat()), _stamp(source.lstat())]
    except OSError:
        return None


def _stamp(st: os.stat_result) -> list[int]:
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


def _read_bytecode_memo(path: Path) -> dict[str, list[list[int]]]:
    try:
        data = json.loads(path.read_bytes()) if path.stat().st_size < 64 << 20 else {}
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _check_elsewhere(env: Env, bytecode: dict[str, str]) -> dict[str, str]:
    prefix = Path(env.path)
    pairs = [[str(prefix / rel), str(prefix / src)] for rel, src in bytecode.items()]
    python = Path(env.python)
    unchecked = "written by another Python, and the env has none to check it with"
    if not python.exists():
        return dict.fromkeys(bytecode, unchecked)
    try:
        done = subprocess.run(
            [str(python), "-I", "-S", _bytecode.__file__],
            input=json.dumps(pairs), capture_output=True, text=True, timeout=600, check=True,
        )  # fmt: skip
        found = json.loads(done.stdout)
    except (OSError, subprocess.SubprocessError, ValueError):
        return dict.fromkeys(bytecode, unchecked)
    back = {str(prefix / rel): rel for rel in bytecode}
    return {back[p]: str(r) for p, r in found.items() if p in back}


def _check_content(path: Path, rel: str, exp: _Expected, result: VerifyResult) -> None:
    try:
        size = path.stat().st_size  # a file replaced by a symlink: its target
        if exp.size is not None and size != exp.size:
            actual = _sha256(path) if exp.sha256 else None
            result.modified.append(Modified(rel, exp.package, exp.sha256, actual, exp.size, size))
            return
        if exp.sha256 is None:
            return
        actual = _sha256(path)
    except OSError:
        result.modified.append(Modified(rel, exp.package, exp.sha256, None, exp.size, -1))
        return
    if actual != exp.sha256:
        result.modified.append(Modified(rel, exp.package, exp.sha256, actual, exp.size, size))


def _sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _conda_expected(prefix: Path, expected: dict[str, _Expected]) -> None:
    for f in prefix_files(prefix):
        package = f"{f.package}=={f.version}"
        if f.path_type == "directory":
            expected[f.path] = _Expected(package, None, None, "dir")
        elif f.path_type == "softlink":
            expected[f.path] = _Expected(package, None, None, "link")
        elif f.sha256_in_prefix:
            # The installed content; its size is not recorded (size_in_bytes is the archive's).
            size = None if f.prefix_placeholder else f.size
            expected[f.path] = _Expected(package, f.sha256_in_prefix, size)
        elif f.prefix_placeholder:
            expected[f.path] = _Expected(package, None, None)  # rewritten, hash unknown
        else:
            expected[f.path] = _Expected(package, f.sha256, f.size)


def _pypi_expected(prefix: Path, expected: dict[str, _Expected]) -> None:
    for site in sorted(prefix.glob("lib/python*/site-packages")):
        for record_file in sorted(site.glob("*.dist-info/RECORD")):
            rel_record = os.path.relpath(record_file, prefix)
            if rel_record in expected:
                continue  # installed by conda: checked against conda-meta
            dist = record_file.parent.name.removesuffix(".dist-info")
            package = dist.replace("-", "==", 1)
            for row, sha256, size in wheel_files(record_file):
                rel = os.path.normpath(os.path.relpath(site / row, prefix))
                if rel.startswith("..") or rel in expected or _bytecode.source_of(rel):
                    continue
                expected[rel] = _Expected(package, sha256, size if sha256 else None)


def _walk(prefix: Path) -> dict[str, str]:
    """Relative path -> 'file' | 'link' | 'dir' for everything under ``prefix`` (not
    following symlinks), skipping ``.amber`` and ``conda-meta`` at the root."""

    def skip(entry: TreeEntry) -> bool:
        return entry.kind == "dir" and entry.rel in _IGNORED_DIRS

    # Fifos and sockets are checked like files: no package installs them.
    return {e.rel: "file" if e.kind == "other" else e.kind for e in walk_tree(prefix, skip=skip)}


def _ignored(rel: str, conda: bool) -> bool:
    parts = rel.split(os.sep)
    if parts[0] in _IGNORED_DIRS:
        return True
    if len(parts) == 1 and parts[0] in _IGNORED_ROOT_FILES:
        return True
    if conda:
        return False
    if len(parts) == 1 and parts[0] in _IGNORED_VENV_ROOT:
        return True
    if len(parts) == 2 and parts[0] == "bin":
        return parts[1] in _IGNORED_VENV_BIN or parts[1].startswith(_IGNORED_VENV_BIN_PREFIXES)
    return len(parts) == 4 and parts[2] == "site-packages" and parts[3] in _IGNORED_VENV_SITE
