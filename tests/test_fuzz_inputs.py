"""Property: whatever file or flag value a user hands the real ``amber`` command, it ends in
exit 0 or 2 (never a traceback), says so in lines that quote at most a short piece of the
input, and never hangs (a SIGALRM guard fails the example as a hang, not a timing check).

Every file kind Amber reads (environment.yml, requirements.txt, pyproject.toml, amber.lock,
pixi.lock, conda-lock.yml, explicit files, pylock.toml, hashed requirements) and the flags
that take values (``-f``, ``--as-of``, ``-p``, ``-o``, tags, ``--keep-runs-days``,
``--older-than``...) are generated from a good seed, mutated. Commands run in-process through
``amber.cli.main.main`` against a local ``file://`` channel; uv is offline, so a PyPI spec
fails fast and clearly instead of reaching the network. ``amber run`` is left out: when it
works it execs, replacing the test process (its file handling is ``install``'s).

``AMBER_FUZZ_EXAMPLES=N`` runs N examples per property (the bench's long mode,
``bench/fuzz.py``); ``AMBER_FUZZ_REPORT=FILE`` adds every outcome to FILE (JSON lines) and
records failures instead of stopping at the first, so the counts cover every input.
"""

from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import condapkgs
import pytest
import yaml
from helpers import CliOutcome, run_cli
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from amber.lock import Lock, LockedConda, PlatformLock
from amber.spec import Spec

EXAMPLES = int(os.environ.get("AMBER_FUZZ_EXAMPLES") or 0)
REPORT = os.environ.get("AMBER_FUZZ_REPORT")
HANG_SECONDS = 20
# The CLI cuts longer lines (readers quote values shortened, far below this).
MAX_LINE = 1000


def fuzz(default: int) -> settings:
    return settings(
        max_examples=EXAMPLES or default,
        deadline=None,
        database=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
        ],
    )


@dataclass(frozen=True)
class World:
    root: Path
    channel: str
    lock: dict[str, Any]  # a good amber.lock, as data
    counter: list[int]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    root = tmp_path_factory.mktemp("fuzz")
    channel = condapkgs.build_channel(root / "ch", [condapkgs.libfoo_package("1.0")]).as_uri()
    env = root / "seed" / "environment.yml"
    env.parent.mkdir()
    env.write_text(f"channels: [{channel}]\ndependencies: [libfoo]\n")
    mp = pytest.MonkeyPatch()
    mp.setenv("AMBER_HOME", str(root / "home"))
    try:
        outcome = _run(["lock", "-f", str(env)], root)
    finally:
        mp.undo()
    assert outcome.code == 0, outcome
    return World(root, channel, yaml.safe_load((env.parent / "amber.lock").read_text()), [0])


@pytest.fixture(autouse=True)
def _offline(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AMBER_HOME", str(world.root / "home"))
    monkeypatch.setenv("UV_OFFLINE", "1")
    monkeypatch.delenv("AMBER_REMOTE", raising=False)


def _run(argv: list[str], cwd: Path) -> CliOutcome:
    return run_cli(argv, cwd, HANG_SECONDS)


def check(outcome: CliOutcome, kind: str) -> None:
    """The property, and the record of this example for the bench's counts."""
    long_lines = [
        line for line in (outcome.stdout + outcome.stderr).splitlines() if len(line) > MAX_LINE
    ]
    problems = {
        "traceback": outcome.crash is not None or "Traceback" in outcome.stderr,
        "hang": outcome.hang,
        # 1 only from `lock --check` (stale: the CI answer), never from a crash.
        "exit": outcome.code not in (0, 2, *((1,) if "--check" in outcome.argv else ()))
        and not outcome.hang
        and outcome.crash is None,
        "long_line": bool(long_lines),
    }
    if REPORT:
        record = {"kind": kind, **problems, "argv": [a[:200] for a in outcome.argv]}
        if any(problems.values()):
            lines = (outcome.crash or outcome.stderr).splitlines()
            record["detail"] = "\n".join(line[:300] for line in lines[-30:])
        with open(REPORT, "a") as f:
            f.write(json.dumps(record) + "\n")
        return
    assert not problems["hang"], f"hang: {outcome.argv}"
    assert not problems["traceback"], f"{outcome.argv}\n{outcome.crash or outcome.stderr}"
    assert not problems["exit"], outcome
    assert not problems["long_line"], f"{outcome.argv}: {long_lines[0][:600]}"


def _fresh(world: World, name: str) -> Path:
    world.counter[0] += 1
    folder = world.root / "cases" / str(world.counter[0])
    folder.mkdir(parents=True)
    return folder / name


def _write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, str):
        content = content.encode("utf-8", "surrogatepass")
    path.write_bytes(content)
    return path


# -- pieces of input ----------------------------------------------------------------------

NASTY_TEXT = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "\x07",
        "\ufeff",
        "\u2028",
        "x" * 5000,
        "y" * 300 + "\n" + "z" * 300,
        "../x",
        "~nosuchuser/x",
        "http://[::1",
        "http://127.0.0.1:99999/x",
        "file:///dev/zero",
        "-r",
        "--",
        "{",
        "[",
        "!tag",
        "*",
        "'",
        '"',
        "\\",
        "%s",
        "${HOME}",
        "é",
        "🙂",
    ]
)
WEIRD = st.one_of(NASTY_TEXT, st.text(max_size=30), st.text(max_size=3000).map(lambda t: t * 2))

MATCH_SPECS = st.one_of(
    st.sampled_from(
        [
            "libfoo",
            "libfoo >=1",
            "libfoo 1.0 0",
            "libfoo *.*.*",
            "six *.*.*",
            "libfoo=1.0=0",
            'six[build_number=">99999999999999999999"]',
            "libfoo[build_number='>1']",
            "libfoo 99999999999999999999999",
            "libfoo[md5=zz]",
            "libfoo[version='>=1,<2']",
            "::libfoo",
            "nosuch",
            "libfoo[",
            "libfoo >=1,",
            "python 3.11.*",
            "libfoo @ x",
            "libfoo[license=MIT]",
            "conda-forge::libfoo",
            "libfoo 1.*.*",
            "libfoo[subdir=x]",
        ]
    ),
    WEIRD,
)
REQUIREMENTS = st.one_of(
    st.sampled_from(
        [
            "six",
            "six==1.16.0",
            "six>=1 --hash=sha256:" + "a" * 64,
            "-r other.txt",
            "-r loop",
            "-r \x00",
            "-r " + "a" * 5000,
            "-c /dev/zero",
            "-r /dev/zero",
            "-e .",
            "--pre",
            "-i http://[::1",
            "--index-url=http://127.0.0.1:99999/",
            "--extra-index-url x",
            "six ; python_version > '3'",
            "six @ file:///dev/zero",
            "six[",
            "--unknown",
            "\\",
            "six \\",
            "# comment",
            "-r fifo",
        ]
    ),
    WEIRD,
)
SCALARS = st.one_of(
    WEIRD, st.integers(), st.floats(), st.booleans(), st.none(),
    st.sampled_from([1e30, -1, 2**70, "big", "zz", "weird", "2020-01-01", "9999-12-31"]),
)  # fmt: skip
VALUES = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(WEIRD, inner, max_size=3),
    max_leaves=6,
)  # fmt: skip


def _text_mutations(text: str) -> st.SearchStrategy[str]:
    """``text`` cut, with a line duplicated, a nasty piece inserted, or left as it is."""

    def cut(n: int) -> str:
        return text[: n % (len(text) + 1)]

    def dup(n: int) -> str:
        lines = text.splitlines(keepends=True) or [""]
        i = n % len(lines)
        return "".join(lines[: i + 1] + lines[i:])

    def insert(n: int, piece: str) -> str:
        i = n % (len(text) + 1)
        return text[:i] + piece + text[i:]

    n = st.integers(min_value=0, max_value=10_000)
    return st.one_of(
        st.just(text), n.map(cut), n.map(dup), st.builds(insert, n, NASTY_TEXT),
        st.builds(insert, n, st.text(max_size=20)),
    )  # fmt: skip


def _yaml_text(data: object) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


# -- environment.yml -------------------------------------------------------------------------


def _environment_yml(world: World) -> st.SearchStrategy[str]:
    keys = st.sampled_from(
        ["name", "channels", "dependencies", "platforms", "system-requirements", "as-of",
         "variables", "prefix", "nosuchkey"]
    )  # fmt: skip
    good = {"channels": [world.channel], "dependencies": ["libfoo"]}
    values = {
        "channels": st.lists(st.one_of(st.just(world.channel), WEIRD), max_size=3),
        "dependencies": st.lists(
            st.one_of(MATCH_SPECS, st.just({"pip": ["six"]}), st.fixed_dictionaries(
                {"pip": st.lists(REQUIREMENTS, max_size=2)})), max_size=4),
        "platforms": st.lists(st.sampled_from(["linux-64", "osx-arm64", "win-64", "", "x"]),
                              max_size=3),
        "system-requirements": st.dictionaries(
            st.sampled_from(["libc", "macos", "cuda", "linux", "archspec", "glibc", "x"]),
            st.one_of(st.sampled_from(["2", "2.x", "x.y", "2.28", "12", "", "1e99"]), SCALARS),
            max_size=2),
        "as-of": st.one_of(st.sampled_from(
            ["2024-01-01", "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59",
             "1970-01-01"]), SCALARS, st.lists(SCALARS, max_size=2)),
    }  # fmt: skip

    def build(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        data = dict(good)
        data.update(pairs)
        return data

    pair = keys.flatmap(lambda k: st.tuples(st.just(k), values.get(k, VALUES)))
    structured = st.lists(pair, max_size=3).map(build).map(_yaml_text)
    return structured.flatmap(_text_mutations)


@given(data=st.data())
@fuzz(25)
def test_environment_yml(world: World, data: st.DataObject) -> None:
    path = _write(_fresh(world, "environment.yml"), data.draw(_environment_yml(world)))
    command = data.draw(st.sampled_from([["lock"], ["lock", "--check"], ["install"]]))
    check(_run([*command, "-f", str(path)], path.parent), "environment.yml")


# -- requirements.txt ----------------------------------------------------------------------


@given(lines=st.lists(REQUIREMENTS, max_size=5), check_only=st.booleans())
@fuzz(20)
def test_requirements_txt(world: World, lines: list[str], check_only: bool) -> None:
    path = _fresh(world, "requirements.txt")
    _write(path.parent / "other.txt", "six\n")
    os.symlink("loop", path.parent / "loop")
    os.mkfifo(path.parent / "fifo")
    _write(path, "\n".join(lines) + "\n")
    argv = ["lock", "--check", "-f", str(path)] if check_only else ["lock", "-f", str(path)]
    check(_run(argv, path.parent), "requirements.txt")


# -- pyproject.toml ------------------------------------------------------------------------

_PYPROJECT = """\
[project]
name = "demo"
dependencies = ["six"]
requires-python = ">=3.9"

[tool.amber]
conda = ["libfoo"]
channels = ["{channel}"]
"""


def _toml_value() -> st.SearchStrategy[str]:
    deep = st.integers(min_value=1, max_value=4000).map(lambda n: "[" * n + "]" * n)
    return st.one_of(
        deep, st.sampled_from(['5', '"x"', '[5]', '{a = 1}', '["dependencies"]', 'true', '[[1]]',
                               '1979-05-27', '"' + "x" * 3000 + '"', '[""]']),
        WEIRD.map(json.dumps),
    )  # fmt: skip


@given(data=st.data())
@fuzz(20)
def test_pyproject_toml(world: World, data: st.DataObject) -> None:
    text = _PYPROJECT.format(channel=world.channel)
    key = data.draw(
        st.sampled_from(["dynamic", "dependencies", "name", "conda", "channels", "python",
                         "system-requirements", "as-of", "platforms", "index-url", "pypi", "x"])
    )  # fmt: skip
    line = f"{key} = {data.draw(_toml_value())}\n"
    section = data.draw(st.sampled_from(["[project]\n", "[tool.amber]\n"]))
    text = text.replace(section, section + line, 1) if section in text else text + line
    text = data.draw(_text_mutations(text))
    path = _write(_fresh(world, "pyproject.toml"), text)
    check(_run(["lock", "--check", "-f", str(path)], path.parent), "pyproject.toml")


# -- amber.lock ----------------------------------------------------------------------------


def _full_id(data: dict[str, Any]) -> str | None:
    """The full_id Amber would compute for the (maybe malformed) packages in ``data``, with
    Amber's own types; None when they cannot even be built."""
    try:
        platforms = {}
        for name, body in data["platforms"].items():
            conda = [
                LockedConda(**{**c, "depends": tuple(c.get("depends") or ())})
                for c in body.get("conda") or []
            ]
            platforms[name] = PlatformLock(name, body.get("python"), conda=tuple(conda))
        return Lock(Spec.from_canonical(data["spec"]), "r", platforms).full_id
    except Exception:  # noqa: BLE001 - malformed on purpose: then the full_id is left as it is
        return None


def _mutated_lock(world: World) -> st.SearchStrategy[str]:
    fields = st.sampled_from(
        ["platforms", "spec", "url", "size", "timestamp", "md5", "noarch", "sha256", "name",
         "version", "build", "build_number", "channel", "depends", "subdir", "req_id",
         "lock_version", "python", "platform-name", "conda", "full_id"]
    )  # fmt: skip

    def mutate(field: str, value: object, recompute: bool) -> str:
        data = copy.deepcopy(world.lock)
        platform = next(iter(data["platforms"]))
        body = data["platforms"][platform]
        entry = body["conda"][0]
        if field in ("platforms", "spec", "req_id", "lock_version", "full_id"):
            data[field] = value
        elif field == "platform-name":
            data["platforms"] = {str(value) if value is not None else "": body}
        elif field in ("python", "conda"):
            body[field] = value
        else:
            entry[field] = value
        if recompute and field != "full_id":
            data["full_id"] = _full_id(data) or data.get("full_id")
        return Lock(Spec(), "", {}).dumps().split("\n", 1)[0] + "\n" + _yaml_text(data)

    text = st.builds(mutate, fields, VALUES, st.booleans())
    return text.flatmap(_text_mutations)


@given(data=st.data())
@fuzz(30)
def test_amber_lock(world: World, data: st.DataObject) -> None:
    path = _write(_fresh(world, "amber.lock"), data.draw(_mutated_lock(world)))
    command = data.draw(
        st.sampled_from(
            [["install", "-f", str(path)], ["export", str(path), "--format", "explicit"],
             ["lock", "--check", "-f", str(path)], ["export", str(path), "--format", "pixi"]]
        )
    )  # fmt: skip
    check(_run(command, path.parent), "amber.lock")


# -- other tools' files ----------------------------------------------------------------------

_SHA = "a" * 64
_OTHERS = {
    "pixi.lock": """\
version: 6
environments:
  default:
    channels:
    - url: {channel}/
    packages:
      linux-64:
      - conda: {channel}/linux-64/libfoo-1.0-0.conda
packages:
- conda: {channel}/linux-64/libfoo-1.0-0.conda
  sha256: {sha}
  md5: {md5}
  depends: []
  size: 10
""",
    "conda-lock.yml": """\
version: 1
metadata:
  channels:
  - url: {channel}
  platforms: [linux-64]
  content_hash: {{linux-64: x}}
  sources: [environment.yml]
package:
- name: libfoo
  version: '1.0'
  manager: conda
  platform: linux-64
  dependencies: {{}}
  url: {channel}/linux-64/libfoo-1.0-0.conda
  hash: {{md5: {md5}, sha256: {sha}}}
  category: main
  optional: false
""",
    "explicit.txt": (
        "# platform: linux-64\n@EXPLICIT\n{channel}/linux-64/libfoo-1.0-0.conda#{md5}\n"
    ),
    "pylock.toml": """\
lock-version = "1.0"
created-by = "x"
requires-python = ">=3.9"

[[packages]]
name = "six"
version = "1.16.0"
wheels = [{{ url = "https://files.example.org/six-1.16.0-py2.py3-none-any.whl", \
hashes = {{ sha256 = "{sha}" }} }}]
""",
    "requirements.txt": "six==1.16.0 --hash=sha256:{sha}\n",
}


@given(data=st.data())
@fuzz(25)
def test_other_tools_files(world: World, data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(_OTHERS)))
    text = _OTHERS[name].format(channel=world.channel, sha=_SHA, md5="b" * 32)
    swap = data.draw(st.sampled_from(["", _SHA, "b" * 32, "libfoo", "1.0", "linux-64", "url"]))
    if swap:
        text = text.replace(swap, data.draw(WEIRD).replace("\n", " ") or "''", 1)
    text = data.draw(_text_mutations(text))
    path = _write(_fresh(world, name), text)
    out = path.parent / "out.lock"
    check(_run(["lock", "-f", str(path), "-o", str(out)], path.parent), name)


# -- what -f, -o and -r point at -------------------------------------------------------------


def _odd_path(world: World, folder: Path, kind: str, name: str) -> str:
    """A path of ``kind``: FIFO, device, directory, symlink loop, NUL, long name, binary..."""
    target = folder / name
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "directory":
        target.mkdir()
    elif kind == "loop":
        os.symlink(target.name, target)
    elif kind == "dangling":
        os.symlink("nowhere", target)
    elif kind == "binary":
        target.write_bytes(b"\xff\xfe\x00\x80" * 50)
    elif kind == "empty":
        target.write_bytes(b"")
    elif kind == "under-file":
        (folder / "file").write_text("x")
        return str(folder / "file" / name)
    elif kind == "nul":
        return str(folder / f"a\x00{name}")
    elif kind == "long":
        return str(folder / ("a" * 5000 + name))
    elif kind in ("/dev/zero", "/dev/null", "/dev/full", "/", "."):
        return kind
    return str(target)


PATH_KINDS = st.sampled_from(
    ["fifo", "directory", "loop", "dangling", "binary", "empty", "under-file", "nul", "long",
     "/dev/zero", "/dev/null", "/dev/full", "/", ".", "missing"]
)  # fmt: skip
NAMES = st.sampled_from(
    ["environment.yml", "requirements.txt", "pyproject.toml", "amber.lock", "pixi.lock",
     "conda-lock.yml", "pylock.toml", "x.txt", "bundle.tar", "noext"]
)  # fmt: skip


@given(kind=PATH_KINDS, name=NAMES, data=st.data())
@fuzz(30)
def test_odd_paths_for_files(world: World, kind: str, name: str, data: st.DataObject) -> None:
    folder = _fresh(world, "x").parent
    path = _odd_path(world, folder, kind, name)
    seed = folder / "seed"
    seed.mkdir()
    lock = _write(seed / "amber.lock", Lock(Spec(), "", {}).dumps().split("\n", 1)[0] + "\n")
    _write(lock, lock.read_text() + _yaml_text(world.lock))
    command = data.draw(
        st.sampled_from(
            [["lock", "-f", path], ["lock", "--check", "-f", path], ["install", "-f", path],
             ["install", path], ["export", path],
             ["lock", "-f", str(lock), "-o", path], ["export", str(lock), "-o", path],
             ["export", str(lock), "--format", "explicit", "-o", path], ["import", path],
             ["unpack", path, str(folder / "dest")], ["diff", path, str(lock)]]
        )
    )  # fmt: skip
    # Writing into a FIFO is by design (`-o` writes through anything not a regular file):
    # with no reader it waits, as `echo > fifo` does.
    assume(not (kind == "fifo" and "-o" in command))
    check(_run(command, folder), f"path:{kind}")


# -- flags that take values ------------------------------------------------------------------

DATES = st.one_of(
    st.sampled_from(
        ["2024-01-01", "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59", "1e30",
         "2024-13-01", "yesterday", "", "2024-01-01T00:00:00Z", "99999-01-01", "-1"]
    ),
    WEIRD,
)  # fmt: skip


@given(data=st.data())
@fuzz(30)
def test_flag_values(world: World, data: st.DataObject) -> None:
    folder = _fresh(world, "x").parent
    env = _write(
        folder / "environment.yml", f"channels: [{world.channel}]\ndependencies: [libfoo]\n"
    )
    value = data.draw(st.one_of(WEIRD, DATES, st.integers().map(str)))
    command = data.draw(
        st.sampled_from(
            [["lock", "-f", str(env), "--as-of", value], ["lock", "-f", str(env), "-p", value],
             ["lock", "-f", str(env), "--update", value],
             ["lock", "-f", str(env), "--python", value],
             ["env", "tag", "nosuchenv", value], ["env", "tags", value], ["env", "untag", value],
             ["env", "show", value], ["env", "rm", value],
             ["remote", "gc", "--remote", (folder / "remote").as_uri(), "--keep-runs-days",
              value],
             ["remote", "ls", value, "--remote", (folder / "remote").as_uri()],
             ["gc", "--older-than", value, "--dry-run"], ["gc", "--keep", value, "--dry-run"],
             ["add", value, "-f", str(env)], ["add", "--pypi", value, "-f", str(env)],
             ["export", value], ["export", str(env), "--format", value], ["verify", value],
             ["runs", "show", value], ["pull", value, "--remote", (folder / "r").as_uri()]]
        )
    )  # fmt: skip
    check(_run(command, folder), f"flag:{command[0]}")


# -- conda match specs: what reads must also solve ----------------------------------------

SPEC_CHARS = "libfo0123456789.*<>=!,|[]'\" _-:@~^$()/#+"


@given(
    head=st.sampled_from(["libfoo", "libfoo ", "libfoo=", "libfoo[", "conda-forge::libfoo", ""]),
    tail=st.text(alphabet=SPEC_CHARS, max_size=30),
)
@fuzz(40)
def test_match_specs_that_read_also_solve(world: World, head: str, tail: str) -> None:
    """The issue saw 161 of 435 accepted match specs crash the solver: a spec Amber reads
    must solve or fail as a clear error, never raise from rattler."""
    spec = _fresh(world, "environment.yml")
    _write(spec, _yaml_text({"channels": [world.channel], "dependencies": [head + tail]}))
    check(_run(["lock", "-f", str(spec)], spec.parent), "match-spec")
