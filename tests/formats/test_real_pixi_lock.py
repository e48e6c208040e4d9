"""Every real pixi.lock of ``../shared/data/real/pixi-lock`` (from the pixi and rattler
projects), every environment: Amber imports exactly the entries the YAML lists, or refuses
naming each entry it cannot import. Never a package lost silently.

The expectations come from the YAML itself (an independent reading, not Amber's or
rattler's): the entries each environment lists per platform, and which of them are source
trees with an absolute path, source builds or unhashed files.
"""

from __future__ import annotations

import functools
import re
import warnings
from pathlib import Path

import pytest
import yaml

from amber.errors import LockFileError
from amber.formats import pixi

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "real" / "pixi-lock"
FILES = sorted(DATA.glob("*")) if DATA.is_dir() else []
_ARCHIVES = (".conda", ".tar.bz2")


@functools.cache
def _yaml(path: Path) -> dict:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)


def _cases() -> list[tuple[Path, str]]:
    """(file, environment) pairs, from the environments' headers (no full parse)."""
    cases = []
    for f in FILES:
        text = f.read_text(encoding="utf-8")
        head = text.split("\npackages:", 1)[0]
        cases += [
            (f, env) for env in sorted(yaml.load(head, Loader=yaml.CSafeLoader)["environments"])
        ]
    return cases


def _entries(data: dict) -> dict[tuple[str, str], dict]:
    """The `packages:` list by (kind, location) (v6/v7 `conda:`/`pypi:`, v4/v5 `kind:`+`url:`)."""
    out: dict[tuple[str, str], dict] = {}
    for entry in data.get("packages") or []:
        if "kind" in entry:
            out[(entry["kind"], str(entry.get("url") or entry.get("path")))] = entry
        for kind in ("conda", "pypi", "conda_source"):
            if kind in entry:
                out.setdefault((kind, str(entry[kind])), entry)
    return out


def _unimportable(kind: str, ref: str, entry: dict) -> str | None:
    """The name Amber must cite when it cannot import this entry, else None."""
    if kind == "conda_source":
        return ref.split("[", 1)[0].split(" @ ", 1)[0]
    if kind == "conda":
        if not ref.endswith(_ARCHIVES):
            return str(entry.get("name") or ref)
        return None if "sha256" in entry else ref.rsplit("/", 1)[-1]
    name = str(entry.get("name") or ref)
    if ref.startswith("git+") and len(ref.rsplit("#", 1)[-1]) == 40:
        return None
    if not ref.startswith(("http://", "https://")) and not ref.endswith((".whl", ".tar.gz")):
        # A source tree (editable or not): a local project relative to the lock's folder;
        # an absolute path would not be that.
        return name if ref.startswith("/") or re.match(r"^[A-Za-z]:[\\/]", ref) else None
    return None if "sha256" in entry or "#sha256=" in ref else name


@pytest.mark.skipif(not FILES, reason="the shared real data is not here")
@pytest.mark.parametrize("path,environment", _cases(), ids=lambda v: getattr(v, "name", v))
def test_real_pixi_lock_imports_every_entry_or_names_it(path: Path, environment: str) -> None:
    data = _yaml(path)
    entries = _entries(data)
    subdirs = {p["name"]: p.get("subdir", p["name"]) for p in data.get("platforms") or []}
    listed = data["environments"][environment].get("packages") or {}
    expected: dict[str, dict[str, int]] = {}
    refused: set[str] = set()
    for platform, refs in listed.items():
        counts = expected.setdefault(subdirs.get(platform, platform), {"conda": 0, "pypi": 0})
        for ref in refs:
            kind = next(k for k in ("conda", "conda_source", "pypi") if k in ref)
            entry = entries.get((kind, str(ref[kind])), {})
            bad = _unimportable(kind, str(ref[kind]), entry)
            if bad is not None:
                refused.add(bad)
            counts["pypi" if kind == "pypi" else "conda"] += 1
    collide = len(set(map(str, listed))) != len({subdirs.get(p, p) for p in listed})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            lock = pixi.read(path, environment)
        except LockFileError as exc:
            message = str(exc)
            assert refused or collide, f"refused, yet every entry is importable: {message}"
            for name in refused:
                assert f"`{name}`" in message or f"({name})" in message, (name, message)
            return
    assert not refused and not collide, f"imported, yet the YAML has {sorted(refused)}"
    got = {
        name: {"conda": len(body.conda), "pypi": len(body.pypi)}
        for name, body in lock.platforms.items()
    }
    assert got == {k: v for k, v in expected.items() if v["conda"] + v["pypi"]} or all(
        not (v["conda"] + v["pypi"]) for v in expected.values()
    )
    for body in lock.platforms.values():
        urls = {c.url for c in body.conda}
        yaml_urls = {
            str(ref["conda"])
            for platform, refs in listed.items()
            if subdirs.get(platform, platform) == body.platform
            for ref in refs
            if "conda" in ref
        }
        assert urls == yaml_urls
