"""Benchmarks 10 and 11: shipping an env and cleaning the store (issue 7), run by
run_benchmarks.py beside 1-9.

10. `amber pack` and `amber unpack` of a >= 200 MB env (numpy, scipy, pandas repackaged from
    their PyPI wheels as conda packages, plus the test set's prefix-placeholder packages)
    against conda-pack (and its `conda-unpack`) on the same prefix: .tar.gz and .tar.zst, each
    way a whole subprocess (or shell command) timed from outside.
11. `amber gc --older-than 30d` on a store of 50 envs, 40 of them unused for over 30 days and
    5 of those tagged, against its `--dry-run` on the same store just before.

Figures only: nothing here asserts on a time.
"""

from __future__ import annotations

import inspect
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import condapkgs
from common import Figure, ms, run, spread

AMBER = str(Path(sys.executable).with_name("amber"))
CONDA_PACK = str(Path(sys.executable).with_name("conda-pack"))

# 10's env: real wheels from PyPI (pip picks this interpreter's: the host python package wraps
# it), repackaged as `noarch: python` conda packages, with their dependencies.
WHEELS = {
    "numpy": ("numpy==2.4.6", ("python",)),
    "scipy": ("scipy==1.17.1", ("python", "numpy")),
    "pandas": ("pandas==3.1.1", ("python", "numpy", "python-dateutil", "tzdata")),
    "python-dateutil": ("python-dateutil==2.9.0.post0", ("python", "six")),
    "six": ("six==1.17.0", ("python",)),
    "tzdata": ("tzdata==2026.6", ("python",)),
}
PACK_CONDA = ["python", *WHEELS, "footool", "libfoo"]  # footool: text + binary placeholders
IMPORTS = "import numpy, scipy.linalg, scipy.sparse, pandas, dateutil; pandas.DataFrame({'a': [1]})"
# Where the unpacked envs go: a path of another length than the env's prefix (longer: the
# binary placeholder file must grow into its padding).
DEST_DIR = "unpacked-into-a-longer-directory-than-the-store"

N_GC_ENVS, N_GC_OLD, N_GC_TAGGED = 50, 40, 5
DAY = 24 * 3600.0


def wheel_cache() -> Path:
    """The tests' wheel cache (``$AMBER_TEST_CACHE`` or ``~/.cache/amber-tests``, ``wheels/``),
    kept across runs: the wheels are downloaded from PyPI once."""
    root = os.environ.get("AMBER_TEST_CACHE")
    if root:
        base = Path(root)
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        base = (Path(xdg) if xdg else Path.home() / ".cache") / "amber-tests"
    path = base / "wheels"
    path.mkdir(parents=True, exist_ok=True)
    return path


def timed_env(cmd: list[str], env: dict[str, str]) -> tuple[float, str]:
    """(seconds, stdout) of one subprocess, start-up included (it must succeed)."""
    start = time.perf_counter()
    out = run(cmd, env=env)
    return time.perf_counter() - start, out


def q(path: Path | str) -> str:
    return "'" + str(path).replace("'", "'\\''") + "'"


def med(values) -> float:
    return statistics.median(list(values))


def mb(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


def ensure_conda_pack() -> str:
    """conda-pack's version, installing it into this venv first when it is missing."""
    if not Path(CONDA_PACK).exists():
        print("installing conda-pack (pip install conda-pack)", file=sys.stderr)
        run([sys.executable, "-m", "pip", "install", "-q", "conda-pack>=0.8"])
    return run([CONDA_PACK, "--version"]).split()[-1]


def conda_pack_zstd_ignores_options() -> bool:
    """Whether this conda-pack builds its .tar.zst writer without the level and threads it is
    given (0.9.2: ``ParallelZstdFileWriter(fileobj)``, so zstd level 9 on one thread)."""
    try:
        from conda_pack import formats
    except ImportError:
        return False
    return "ParallelZstdFileWriter(fileobj)" in inspect.getsource(formats.archive)


# -- 10 --------------------------------------------------------------------------------------


def build_big_env(work: Path) -> Path:
    """10's channel (file://) and env, hydrated by `amber install` in the bench's AMBER_HOME."""
    cache = wheel_cache()
    packages = [
        condapkgs.conda_from_wheel(condapkgs.download_wheel(req, cache), depends=deps)
        for req, deps in WHEELS.values()
    ]
    packages += [
        condapkgs.host_python_package(),
        condapkgs.footool_package(),  # a text (bin/footool) and a binary placeholder file
        condapkgs.libfoo_package("2.0"),
    ]
    channel = condapkgs.build_channel(work / "pack-channel", packages)
    project = work / "pack-project"
    project.mkdir()
    lines = ["name: bench-pack", "channels:", f"  - {channel.as_uri()}", "dependencies:"]
    (project / "environment.yml").write_text("\n".join(lines + [f"  - {s}" for s in PACK_CONDA]))
    return Path(run([AMBER, "install", "-q", "-f", "environment.yml"], project).strip())


def tree_stats(root: Path) -> tuple[int, int, int]:
    """(apparent bytes by `du -sb`, regular files, symlinks) under ``root``."""
    size = int(run(["du", "-sb", str(root)]).split()[0])
    files = links = 0
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            if os.path.islink(os.path.join(dirpath, name)):
                links += 1
            else:
                files += 1
    return size, files, links


def file_bytes(root: Path, skip: tuple[str, ...] = ()) -> int:
    """Apparent bytes of the files (not directories) under ``root``, each inode once, those
    named in ``skip`` (at ``root``) left out: what gc counts."""
    seen: dict[tuple[int, int], int] = {}
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            if dirpath == str(root) and name in skip:
                continue
            st = os.lstat(os.path.join(dirpath, name))
            seen[st.st_dev, st.st_ino] = st.st_size
    return sum(seen.values())


def file_sizes(root: Path, skip: tuple[str, ...] = ()) -> dict[str, int]:
    """{path: apparent bytes} of the files under ``root`` (as ``file_bytes`` walks them)."""
    found = {}
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            if not (dirpath == str(root) and name in skip):
                path = os.path.join(dirpath, name)
                found[path] = os.lstat(path).st_size
    return found


def still_holding(root: Path, needle: str, ignore: tuple[str, ...] = ()) -> list[str]:
    """Files under ``root`` that still contain ``needle`` (`grep -rlF`)."""
    proc = subprocess.run(["grep", "-rlF", "--", needle, str(root)], capture_output=True)
    hits = [str(Path(p).relative_to(root)) for p in proc.stdout.decode().split("\n") if p]
    return [h for h in hits if h not in ignore]


def check_unpacked(dest: Path, old_prefix: str, amber_made: bool) -> list[str]:
    """What is wrong with an unpacked env (nothing: an empty list)."""
    problems = []
    footool = subprocess.run([str(dest / "bin/footool")], capture_output=True, text=True)
    if footool.stdout.splitlines()[:1] != [f"footool prefix: {dest}"]:
        problems.append(f"footool printed {footool.stdout.strip()!r}")
    blob = (dest / "share/footool/prefix.bin").read_bytes()
    if f"{dest}/share/footool".encode() not in blob:
        problems.append("share/footool/prefix.bin lacks the new prefix")
    imports = subprocess.run([str(dest / "bin/python"), "-c", IMPORTS], capture_output=True)
    if imports.returncode != 0:
        problems.append(f"python -c '{IMPORTS}' failed: {imports.stderr.decode()[-300:]}")
    # conda-unpack keeps the old prefix: it is what it rewrites (and it runs once only).
    left = still_holding(dest, old_prefix, () if amber_made else ("bin/conda-unpack",))
    if left:
        problems.append(f"{len(left)} files still hold the old prefix: {', '.join(left[:5])}")
    if amber_made:
        verify = subprocess.run([AMBER, "verify", str(dest)], capture_output=True, text=True)
        if verify.returncode != 0:
            problems.append(f"amber verify failed: {(verify.stdout + verify.stderr)[-300:]}")
    return problems


def bench_pack(work: Path, reps: int) -> list[Figure]:
    """10, 10b, 10c, 10d: pack and unpack, .tar.gz and .tar.zst, Amber vs conda-pack."""
    started = time.perf_counter()
    cp_version = ensure_conda_pack()
    env = build_big_env(work)
    setup = time.perf_counter() - started
    size, files, links = tree_stats(env)
    # No one imports from the env before it is packed (no __pycache__ appears; Amber leaves
    # bytecode out, conda-pack would pack it).
    out = work / "pack-out"
    dests = work / "pack-dest" / DEST_DIR
    out.mkdir()
    dests.mkdir(parents=True)
    formats = ("tar.gz", "tar.zst")

    def archive(side: str, fmt: str, i: int) -> Path:
        return out / f"{side}-{i}.{fmt}"

    def pack_cmd(side: str, fmt: str, i: int) -> list[str]:
        if side == "amber":
            return [AMBER, "pack", str(env), "-o", str(archive(side, fmt, i)), "-q"]
        threads = ["-j", "-1"] if fmt == "tar.zst" else []
        return [CONDA_PACK, "-p", str(env), "-o", str(archive(side, fmt, i)), "-q", *threads]

    def destination(side: str, fmt: str, i: int) -> Path:
        return dests / f"{side}-{fmt.replace('.', '-')}-{i}"

    def unpack_cmd(side: str, fmt: str, i: int) -> list[str]:
        """One way to unpack round ``i``'s archive (a shell script: one ``sh -c``)."""
        dest = destination(side, fmt, i)
        untar = "tar -xzf" if fmt == "tar.gz" else "tar --zstd -xf"
        if side == "amber":
            return [AMBER, "unpack", str(archive("amber", fmt, i)), str(dest), "-q"]
        if side == "amber-sh":  # a machine without Amber
            script = (f"mkdir {q(dest)} && {untar} {q(archive('amber', fmt, i))} -C {q(dest)} "
                      f"&& {q(dest / 'bin/amber-unpack')}")  # fmt: skip
        else:  # conda-unpack as its docs run it, after `source D/bin/activate`: with the
            # env's python (its `#!/usr/bin/env python` would find pyenv's shim on PATH here)
            script = (f"mkdir {q(dest)} && {untar} {q(archive('cp', fmt, i))} -C {q(dest)} && "
                      f"{q(dest / 'bin/python')} {q(dest / 'bin/conda-unpack')}")  # fmt: skip
        return ["sh", "-c", script]

    # Warm-up (untimed): one gzip pack each way reads the whole env into the page cache;
    # conda-pack's without -q, to see any warning it gives about the env.
    run(pack_cmd("amber", "tar.gz", -1))
    warm = [CONDA_PACK, "-p", str(env), "-o", str(archive("cp", "tar.gz", -1))]
    proc = subprocess.run(warm, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"conda-pack refused the env:\n{proc.stdout}{proc.stderr}")
    said = [
        line.strip()
        for line in (proc.stdout + proc.stderr).replace("\r", "\n").splitlines()
        if line.strip() and "Completed" not in line
        and not line.startswith(("Collecting packages", "Packing environment"))
    ]  # fmt: skip

    # The rounds: every pack writes a new file, every unpack a new directory, and nothing is
    # deleted until the end: on this machine's ext4, creating files in the minutes after
    # many were deleted is several times slower (ext4_create spends its time in
    # recently_deleted(), skipping those inodes), which would fall on whichever side ran next.
    samples: dict[tuple[str, str, str], list[float]] = {}
    for i in range(reps):  # interleaved; the order of the sides flips every round
        flip = 1 if i % 2 == 0 else -1
        rounds = [("pack", fmt, side) for fmt in formats for side in ("amber", "cp")[::flip]]
        rounds += [("unpack", fmt, side) for fmt in formats
                   for side in ("amber", "cp", "amber-sh")[::flip]]  # fmt: skip
        for what, fmt, side in rounds:
            cmd = pack_cmd(side, fmt, i) if what == "pack" else unpack_cmd(side, fmt, i)
            os.sync()  # untimed: the previous side's writeback does not run into this one
            start = time.perf_counter()
            run(cmd)
            samples.setdefault((what, fmt, side), []).append(time.perf_counter() - start)

    # Untimed checks on the last round's archives and unpacked envs.
    last = reps - 1
    sizes = {(side, fmt): archive(side, fmt, last).stat().st_size
             for side in ("amber", "cp") for fmt in formats}  # fmt: skip
    problems = {
        (side, fmt): check_unpacked(destination(side, fmt, last), str(env), side != "cp")
        for side in ("amber", "amber-sh", "cp")
        for fmt in formats
    }
    ignores = conda_pack_zstd_ignores_options()
    lengths = sorted({len(str(destination(s, f, last))) for s in ("amber", "cp", "amber-sh")
                      for f in formats})  # fmt: skip
    total = time.perf_counter() - started

    def verdict(side: str, fmt: str) -> str:
        found = problems[side, fmt]
        return "all good" if not found else "**" + "; ".join(found) + "**"

    head = (
        f"The env: {mb(size)} apparent (`du -sb`), {files} files and {links} symlinks; conda "
        f"packages {', '.join(PACK_CONDA)} (numpy, scipy, pandas, python-dateutil, six, tzdata "
        f"converted from their PyPI wheels), at `{env}` ({len(str(env))} chars); unpacked "
        f"into `{destination('amber', 'tar.gz', last)}` and its siblings ({lengths[0]}-"
        f"{lengths[-1]} chars). conda-pack {cp_version}. {reps} rounds, the sides interleaved, "
        f"their order flipping; each side a whole subprocess (`sh -c` for a shell line), after "
        f"an untimed `sync`. Each round packs to new files and unpacks into new directories; "
        f"nothing is deleted during the rounds (see 10c)."
    )
    figures = []
    for fmt, letter in (("tar.gz", ""), ("tar.zst", "b")):
        a, c = samples["pack", fmt, "amber"], samples["pack", fmt, "cp"]
        if fmt == "tar.gz":
            how = (
                "`amber pack ENV -o x.tar.gz -q` vs `conda-pack -p ENV -o y.tar.gz -q` (gzip "
                "level 4 on one thread on both sides: conda-pack's defaults, Amber's only way)."
            )
        else:
            how = (
                "`amber pack ENV -o x.tar.zst -q` (zstd level 3 on all cores) vs `conda-pack -p "
                "ENV -o y.tar.zst -q -j -1`."
                + (
                    f" conda-pack {cp_version} ignores `-j` and `--compress-level` for .tar.zst "
                    "(its `formats.archive()` makes `ParallelZstdFileWriter(fileobj)`, whose "
                    "defaults are level 9 and one thread): it compresses at zstd level 9 on one "
                    "thread, hence its smaller archive."
                    if ignores
                    else ""
                )
            )
        notes = [
            head if not letter else f"The env, rounds and order of 10. {how}",
            f"Amber {spread(a)}; conda-pack {spread(c)}. Archives: Amber "
            f"{mb(sizes['amber', fmt])}, conda-pack {mb(sizes['cp', fmt])}.",
        ]
        if not letter:
            notes.insert(1, how)
            notes.append(
                "Before the rounds, one untimed pack each way (page cache warm). conda-pack "
                "packed the Amber-built env without complaint"
                + ("." if not said else f"; it said: {' / '.join(said[:5])}.")
            )
        label = f"10{letter}. pack to `.{fmt}` ({mb(size)}, {files} files) vs conda-pack"
        figures.append(Figure(label, a, c, None, True, notes))
    for fmt, letter in (("tar.gz", "c"), ("tar.zst", "d")):
        a, c, s = (samples["unpack", fmt, k] for k in ("amber", "cp", "amber-sh"))
        untar = "tar -xzf" if fmt == "tar.gz" else "tar --zstd -xf"
        notes = [
            f"`amber unpack x.{fmt} DEST -q` (decompressed in Python, piped to the system's "
            f"`tar -x` into a temporary sibling, the prefix rewritten, a rename into place) "
            f"vs `sh -c 'mkdir D && {untar} y.{fmt} -C D "
            f"&& D/bin/python D/bin/conda-unpack'` (GNU tar; conda-unpack run by the env's "
            f"python, as after `source D/bin/activate`: its `#!/usr/bin/env python` would find "
            f"pyenv's shim first on this machine's PATH). Each from that round's archive.",
            f"Amber {spread(a)}; conda-pack {spread(c)}. Amber's way without Amber, `mkdir D2 "
            f"&& {untar} x.{fmt} -C D2 && D2/bin/amber-unpack`, in the same rounds: median "
            f"{ms(med(s)):.0f} ms ({spread(s)}), {med(s) / med(c):.2f}x conda-pack's.",
            f"Checks on the last round's envs (`bin/footool` prints the new prefix, the binary "
            f'placeholder file holds it, `bin/python -c "{IMPORTS}"` works, no file but '
            f"conda-unpack itself still holds the old prefix, and for Amber's `amber verify "
            f"DEST` passes): `amber unpack` {verdict('amber', fmt)}; `amber-unpack` "
            f"{verdict('amber-sh', fmt)}; conda-pack {verdict('cp', fmt)}.",
        ]
        if letter == "c":
            notes.append(
                "Why nothing is deleted during the rounds: on this VM's ext4, `tar --zstd -xf` "
                "of Amber's archive took 2.7-5 s right after `rm -rf` of earlier copies, "
                "against 0.6-1.8 s without (`perf`: two thirds of its samples in ext4_create -> "
                "recently_deleted(), the inode allocator passing over recently freed inodes), "
                "whichever tool extracts; a run soon after deleting much elsewhere (an earlier "
                "run's temporary directory) is slowed the same way."
            )
        else:
            notes.append(
                f"Figure 10 as a whole (conda-pack check, channel from the cached wheels, "
                f"`amber install`, warm-up, {reps} rounds, checks) took {total:.0f} s, of which "
                f"setup {setup:.0f} s."
            )
        label = f"10{letter}. unpack `.{fmt}` ({mb(size)}) vs conda-pack's tar + conda-unpack"
        figures.append(Figure(label, a, c, None, True, notes))
    return figures


# -- 11 --------------------------------------------------------------------------------------


def gc_packages(count: int) -> list[condapkgs.CondaPackage]:
    """``gcbench-pkgNN``: linux-64, 30 data files of 8 KB each (their own bytes), a script
    with a prefix placeholder; each needs libfoo 2."""
    packages = []
    for i in range(count):
        name = f"gcbench-pkg{i:02d}"
        data = {j: (f"{name} {j}\n".encode() * 1000)[:8192] for j in range(30)}
        files = {f"share/{name}/d{j:02d}.dat": block for j, block in data.items()}
        files[f"bin/{name}"] = f"#!/bin/sh\necho {condapkgs.PLACEHOLDER}\n".encode()
        packages.append(condapkgs.CondaPackage(
            name, "1.0", depends=("libfoo >=2,<3",), files=files,
            prefix_files={f"bin/{name}": "text"},
        ))  # fmt: skip
    return packages


# Hydrates every spec given on the command line in one process (setup: no CLI start-ups),
# printing a JSON list of [full_id, path].
_MAKE_ENVS = """
import json, sys
from pathlib import Path
from amber import api
from amber._progress import Progress
from amber.store import Store
store = Store()
envs = [api.env_for_file(Path(p), store, Progress(quiet=True)) for p in sys.argv[1:]]
print(json.dumps([[e.full_id, str(e.path)] for e in envs]))
"""


def bench_gc(work: Path) -> Figure:
    """11. `amber gc --older-than 30d` on 50 envs (35 to remove) vs its dry run."""
    from amber.store import Store

    home = work / "gc-home"
    env = {**os.environ, "AMBER_HOME": str(home)}
    started = time.perf_counter()
    channel = condapkgs.build_channel(work / "gc-channel", [
        *gc_packages(N_GC_ENVS), condapkgs.libfoo_package("2.0"), condapkgs.footool_package(),
    ])  # fmt: skip
    specs = []
    for i in range(N_GC_ENVS):
        project = work / "gc-projects" / f"p{i:02d}"
        project.mkdir(parents=True)
        deps = [f"gcbench-pkg{i:02d}", "libfoo", "footool"]
        spec = f"channels: ['{channel.as_uri()}']\ndependencies: [{', '.join(deps)}]\n"
        (project / "environment.yml").write_text(spec)
        specs.append(str(project / "environment.yml"))
    made = json.loads(run([sys.executable, "-c", _MAKE_ENVS, *specs], env=env))
    ids = [full_id for full_id, _ in made]
    if len(set(ids)) != N_GC_ENVS:
        sys.exit(f"gc bench: {len(set(ids))} distinct envs, not {N_GC_ENVS}")
    old, tagged = ids[:N_GC_OLD], ids[:N_GC_TAGGED]  # the tagged ones are old too
    for n, full_id in enumerate(tagged):
        run([AMBER, "env", "tag", full_id, f"gcbench:v{n}"], env=env)
    store = Store(home)
    with store.db:  # as tests/store/test_gc.py's _age: unused for 40 to 79 days
        for n, full_id in enumerate(old):
            then = time.time() - (40 + n) * DAY
            store.db.execute("UPDATE envs SET last_used = ? WHERE full_id = ?", (then, full_id))
            lock = store.env_lock_path(full_id)  # `amber run` moves its mtime
            if lock.exists():
                os.utime(lock, (then, then))
    store.close()
    setup = time.perf_counter() - started

    def on_disk() -> int:
        return sum(1 for p in (home / "envs").iterdir() if not p.name.startswith("."))

    def listed() -> int:
        return len(json.loads(run([AMBER, "env", "list", "--json"], env=env)))

    index = ("index.db", "index.db-wal", "index.db-shm")
    before = {"listed": listed(), "dirs": on_disk(), "du": tree_stats(home)[0],
              "files": file_bytes(home, index)}  # fmt: skip
    paths_before = file_sizes(home, index)
    conda_before = sum(1 for p in (home / "pkgs/conda").iterdir() if (p / "info").is_dir())
    du_time, _ = timed_env([AMBER, "du"], env)
    gc = [AMBER, "gc", "--older-than", "30d", "--json"]
    dry_time, dry_out = timed_env([*gc[:2], "--dry-run", *gc[2:]], env)
    gc_time, gc_out = timed_env(gc, env)
    again_time, again_out = timed_env(gc, env)
    dry, real, again = json.loads(dry_out), json.loads(gc_out), json.loads(again_out)
    after = {"listed": listed(), "dirs": on_disk(), "du": tree_stats(home)[0],
             "files": file_bytes(home, index)}  # fmt: skip
    conda_after = sum(1 for p in (home / "pkgs/conda").iterdir() if (p / "info").is_dir())

    removed = {e["full_id"] for e in real["removed_envs"]}
    expected = set(old) - set(tagged)
    kept = {}
    for k in real["kept_envs"]:
        kept[k["reason"]] = kept.get(k["reason"], 0) + 1
    by_kind = {}
    for c in real["removed_cache"]:
        by_kind[c["kind"]] = by_kind.get(c["kind"], 0) + 1
    checks = {
        "removed exactly the 35 old untagged envs": removed == expected,
        "the dry run named the same envs and cache entries": (
            {e["full_id"] for e in dry["removed_envs"]} == removed
            and sorted(c["path"] for c in dry["removed_cache"])
            == sorted(c["path"] for c in real["removed_cache"])
            and dry["bytes_freed"] == real["bytes_freed"]
        ),
        "the tagged and recent envs are still there": all(
            Path(p).is_dir() for full_id, p in made if full_id not in removed
        ),
        "a second gc removed nothing": not again["removed_envs"] and not again["removed_cache"],
        "the bytes it reports freed are what left the files": (
            real["bytes_freed"] + real["bookkeeping_bytes"] == before["files"] - after["files"]
        ),
    }
    failed = [what for what, ok in checks.items() if not ok]
    if not checks["the bytes it reports freed are what left the files"]:
        gone = {p: n for p, n in paths_before.items() if p not in file_sizes(home, index)}
        envs_gone = [e["path"] for e in real["removed_envs"]]
        entries = [Path(c["path"]).name for c in real["removed_cache"]]
        other = sorted(
            p for p in gone
            if not any(p.startswith(e) for e in envs_gone) and not any(n in p for n in entries)
        )  # fmt: skip
        failed.append(
            f"{before['files'] - after['files'] - real['bytes_freed'] - real['bookkeeping_bytes']}"
            " bytes more left than gc "
            f"counted; files gone outside the envs and cache entries it names: "
            + (", ".join(str(Path(p).relative_to(home)) for p in other[:5]) or "none")
        )
    label = (
        f"11. `amber gc --older-than 30d` on {N_GC_ENVS} envs ({len(expected)} to remove) vs "
        f"its `--dry-run`"
    )
    notes = [
        f"A fresh `AMBER_HOME` with {N_GC_ENVS} small conda-only envs, one per generated "
        f"package (`gcbench-pkg00`..`{N_GC_ENVS - 1:02d}`, 30 files of 8 KB and a script with "
        f"a prefix placeholder, each; plus `libfoo` and `footool`, shared by all), hydrated "
        f"from a `file://` channel in one process; {N_GC_OLD} of them backdated 40-79 days in "
        f"the index (`envs.last_used`, as tests/test_gc.py does), {N_GC_TAGGED} of those tagged "
        f"(`amber env tag`). Setup {setup:.0f} s.",
        f"Amber column: `amber gc --older-than 30d --json`, one run (it changes the store). "
        f"Baseline column: `amber gc --dry-run --older-than 30d --json` just before it on the "
        f"same store, one run: the same scan of the index, locks and caches and the same "
        f"counting of bytes, without removing anything; so the overhead column is the time "
        f"the removals themselves take. Each a whole subprocess. `amber du` on the same store "
        f"before: {ms(du_time):.0f} ms. A second `amber gc` right after (nothing left to "
        f"remove): {ms(again_time):.0f} ms.",
        f"Envs: {before['listed']} listed ({before['dirs']} directories) before, "
        f"{after['listed']} ({after['dirs']}) after; removed {len(real['removed_envs'])}; kept "
        + ", ".join(f"{n} {r}" for r, n in sorted(kept.items()))
        + f". Cache entries removed: {len(real['removed_cache'])} ("
        + (", ".join(f"{n} {k}" for k, n in sorted(by_kind.items())) or "none")
        + f"; rattler's cache held {conda_before} packages, then {conda_after}). Bytes freed "
        f"as gc reports them: {real['bytes_freed'] / 1e6:.2f} MB (envs "
        f"{real['env_bytes'] / 1e6:.2f} MB, caches {real['cache_bytes'] / 1e6:.2f} MB); "
        f"the files under `$AMBER_HOME` (each inode once, the index left out) went from "
        f"{before['files'] / 1e6:.2f} to {after['files'] / 1e6:.2f} MB (-"
        f"{(before['files'] - after['files']) / 1e6:.2f} MB); `du -sb $AMBER_HOME`, which "
        f"counts directories (4 KB each) and the index too, from {before['du'] / 1e6:.2f} to "
        f"{after['du'] / 1e6:.2f} MB (-{(before['du'] - after['du']) / 1e6:.2f} MB). uv's cache: "
        + (real["uv_prune"] or "none (conda-only envs), no `uv cache prune`")
        + ".",
        "Checks: "
        + (
            "all passed (" + "; ".join(checks) + ")."
            if not failed
            else "**FAILED: " + "; ".join(failed) + "**."
        ),
    ]
    verdict = "FAIL (checks)" if failed else None
    return Figure(label, [gc_time], [dry_time], None, notes=notes, verdict=verdict)
