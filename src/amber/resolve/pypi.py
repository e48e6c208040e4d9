"""The PyPI half of resolution: ``uv pip compile`` for one platform and interpreter.

``compile_pypi`` blocks on its one uv call: the resolver runs it in a thread per platform
(beside rattler's solves when there is a conda part), so a PyPI-only lock needs no asyncio.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import re
import sys
import tomllib
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from amber import _early
from amber._auth import in_query, requirement_with_credentials, with_credentials
from amber._fs import scratch_dir
from amber._urls import redact, redact_text
from amber._uv import UvFailed, UvProcess, call_uv, env_change, run_uv, start_uv, uv_bin
from amber.errors import ResolveError, SourceError
from amber.lock import LockedPypi
from amber.resolve.wheels import DistFile, best_file, glibc_minor, macos_version
from amber.settings import PYPI_INDEX, Network
from amber.spec import Spec
from amber.spec.model import local_directory

if TYPE_CHECKING:
    from amber.policy import Policy

__all__ = ["compile_pypi", "prestart", "release_files", "uv_python_platform"]


_UV_PLATFORMS = {
    "osx-64": "x86_64-apple-darwin",
    "osx-arm64": "aarch64-apple-darwin",
    "win-64": "x86_64-pc-windows-msvc",
    "win-32": "i686-pc-windows-msvc",
    "win-arm64": "aarch64-pc-windows-msvc",
    "linux-riscv64": "riscv64-unknown-linux",
}


def uv_python_platform(platform: str, requirements: Mapping[str, str]) -> str:
    """uv's ``--python-platform`` for a conda subdir and the spec's system requirements;
    ``ResolveError`` for a platform uv cannot resolve PyPI packages for."""
    if platform in ("linux-64", "linux-aarch64"):
        arch = "aarch64" if platform == "linux-aarch64" else "x86_64"
        return f"{arch}-manylinux_2_{glibc_minor(requirements)}"
    if platform not in _UV_PLATFORMS:
        known = ", ".join(["linux-64", "linux-aarch64", *_UV_PLATFORMS])
        raise ResolveError(
            f"uv cannot resolve PyPI packages for {platform} (it can for: {known}): lock the "
            "PyPI part for other platforms, or make it conda packages",
            platform=platform,
        )
    return _UV_PLATFORMS[platform]


def compile_pypi(
    spec: Spec,
    platform: str,
    python: str | None,
    pins: dict[str, str],
    uv_cache: Path,
    prefer: Sequence[LockedPypi] = (),
    upgrade: Collection[str] = (),
    network: Network | None = None,
    *,
    policy: Policy | None = None,
) -> list[LockedPypi]:
    """Resolve ``spec.pypi`` for ``platform`` and ``python``, uv's requests through
    ``network`` (proxies, CA bundle, ``ssl_verify: false``).

    ``pins`` are fixed (what conda provides); ``prefer`` are an earlier lock's picks, kept
    where possible (uv reads them from its existing output file) except ``upgrade``'s names.
    With ``policy``: its refused indexes are refused, its bans are constraints uv must keep
    (a banned version uv still picks is excluded and the resolve repeated), its cooldown
    uv's ``--exclude-newer`` (``--exclude-newer-package`` for the exempt).
    """
    if not spec.pypi:
        return []
    if python is None:
        raise ResolveError(f"{spec}: PyPI packages need a python, and the conda part has none")
    if policy is None:
        return _compile(spec, platform, python, pins, uv_cache, prefer, upgrade, network=network)
    _check_indexes(spec, policy)
    now = datetime.datetime.now(datetime.UTC)
    extra = _ban_constraints(policy)
    cooldown = _cooldown_args(spec, policy, now)
    for _ in range(_MAX_BAN_ROUNDS):
        try:
            picked = _compile(
                spec, platform, python, pins, uv_cache, prefer, upgrade, extra, cooldown,
                network=network,
            )  # fmt: skip
        except ResolveError:
            _explain(spec, platform, python, pins, uv_cache, policy, now, network)
            raise
        banned = [p for p in picked if policy.ban_of("pypi", p.name, p.version)]
        if not banned:
            return picked
        extra += [f"{p.name}!={p.version}" for p in banned]
    raise ResolveError(
        f"{spec}: uv keeps picking versions the policy bans ({', '.join(extra)}) for "
        f"{platform}: pin an allowed version",
        platform=platform,
    )


_MAX_BAN_ROUNDS = 6
_INVERSE = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "==": "!=", "!=": "=="}


def _ban_constraints(policy: Policy) -> list[str]:
    """uv constraints that keep the banned versions out, where a constraint can say it: a
    whole package (no version is below 0.dev0) or one comparison, inverted."""
    # On use: `amber lock` of a conda spec parses no PEP 440 specifier (benchmark 16).
    from packaging.specifiers import InvalidSpecifier, SpecifierSet  # noqa: PLC0415

    found = []
    for ban in policy.bans:
        if ban.kind not in ("", "pypi") or ban.build:
            continue
        name = str(canonicalize_name(ban.name))
        if not ban.version:
            found.append(f"{name}<0.dev0")
            continue
        try:
            clauses = list(SpecifierSet(ban.version))
        except InvalidSpecifier:
            continue
        if len(clauses) == 1 and clauses[0].operator in _INVERSE and "*" not in clauses[0].version:
            found.append(f"{name}{_INVERSE[clauses[0].operator]}{clauses[0].version}")
    return found


def _cooldown_args(spec: Spec, policy: Policy, now: datetime.datetime) -> list[str]:
    """``--exclude-newer`` of the cooldown (or the spec's own ``as_of``, if earlier) and
    ``--exclude-newer-package`` giving the exempt packages the spec's own date back."""
    cooldown = policy.cooldown
    cutoff = cooldown.cutoff(now)
    indexes = [spec.index_url or _PYPI, *spec.extra_index_urls]
    if cutoff is None or all(cooldown.exempt("pypi", "", url) for url in indexes):
        return []
    own = _as_datetime(spec.as_of)
    if own is not None and own < cutoff:
        return []  # the spec's own --as-of is earlier: it already holds
    args = ["--exclude-newer", _iso(cutoff)]
    free = _iso(own) if own is not None else _iso(now + datetime.timedelta(days=1))
    for entry in cooldown.exempt_packages:
        kind, _, name = entry.rpartition(":")
        if kind in ("", "pypi"):
            args += ["--exclude-newer-package", f"{canonicalize_name(name)}={free}"]
    return args


def _as_datetime(as_of: str | None) -> datetime.datetime | None:
    if not as_of:
        return None
    try:
        value = datetime.datetime.fromisoformat(as_of.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=datetime.UTC)


def _iso(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_PYPI = "https://pypi.org/simple"


def _check_indexes(spec: Spec, policy: Policy) -> None:
    for url in [spec.index_url or _PYPI, *spec.extra_index_urls]:
        rule = policy.source_refusal("pypi", url)
        if rule is not None:
            raise ResolveError(
                f"{spec}: the PyPI index {redact(url)} is refused by source rule `{rule.id}` "
                f"of the policy ({policy.source}; reason: {rule.reason})"
            )


def _explain(
    spec: Spec,
    platform: str,
    python: str,
    pins: dict[str, str],
    uv_cache: Path,
    policy: Policy,
    now: datetime.datetime,
    network: Network | None = None,
) -> None:
    """Unsatisfiable under the policy: resolve again without it and, if that resolves, say
    which rule removed which package the request needs."""
    from amber.policy import Candidate, refusal  # noqa: PLC0415 - a policy's cost, when one holds

    uploads: dict[str, datetime.datetime] = {}
    try:
        free = _compile(spec, platform, python, pins, uv_cache, uploads=uploads, network=network)
    except ResolveError:
        return
    lines = []
    for p in free:
        stamp = uploads.get(p.name)
        found = refusal(policy, Candidate("pypi", p.name, p.version, "", "", stamp), now)
        if found is not None:
            lines.append(f"the request needs {p.name} {p.version}, which {found.says} removed")
    if lines:
        raise ResolveError(
            f"{spec}: the policy ({policy.source}) makes the PyPI request for {platform} "
            "unsatisfiable; without it, " + "; ".join(lines),
            platform=platform,
        )


def _compile(
    spec: Spec,
    platform: str,
    python: str,
    pins: dict[str, str],
    uv_cache: Path,
    prefer: Sequence[LockedPypi] = (),
    upgrade: Collection[str] = (),
    extra: Sequence[str] = (),
    policy_args: Sequence[str] = (),
    uploads: dict[str, datetime.datetime] | None = None,
    network: Network | None = None,
) -> list[LockedPypi]:
    with scratch_dir("uv") as tmp:
        plan = _plan(tmp, spec, platform, python, pins, prefer, upgrade, extra, policy_args)
        plan.write()
        if _early.recording():
            _early.planned(plan.memo(uv_cache, network), uv_bin())
        calls = _claim(plan, uv_cache, network) or _Calls.start(plan, uv_cache, network)
        try:
            calls.pylock.result()
            packages = tomllib.loads((calls.folder / "pylock.toml").read_text()).get("packages", [])
            text = _annotated(calls, plan, packages, uv_cache, network)
        except UvFailed as exc:
            message = _clean(exc.stderr, calls.folder)
            said = (
                f"{spec}: cannot resolve the PyPI requirements for {platform} "
                f"(python {python}):\n{message}"
            )
            if exc.is_network:
                raise SourceError(said, url=spec.index_url) from None
            raise ResolveError(said, platform=platform) from None
        finally:
            calls.close()
    if uploads is not None:
        uploads.update(_upload_times(packages))
    requires = _requires(text)
    return [
        dataclasses.replace(locked, requires=tuple(sorted(requires.get(locked.name, ()))))
        for locked in (_pick(spec, pkg, python, platform) for pkg in packages)
    ]


@dataclasses.dataclass(frozen=True)
class _Plan:
    """One resolution before it runs: the files uv reads (in ``folder``) and its arguments."""

    folder: Path
    files: tuple[tuple[str, str], ...]  # (name in folder, text)
    args: tuple[str, ...]  # writing pylock.toml into folder
    env: tuple[tuple[str, str], ...]  # beside uv_env's own
    urls: tuple[str, ...]  # what uv reaches (for the network settings)

    def write(self) -> None:
        for name, text in self.files:
            Path(self.folder, name).write_text(text)

    @property
    def cached(self) -> bool:
        return "--no-cache" not in self.args

    def annotated_args(self) -> list[str]:
        """The same resolution with its annotated requirements on stdout instead of the
        pylock.toml file: ``# via`` for each package (the edges)."""
        return _without_output(self.args)

    def key(self, uv_cache: Path, network: Network | None) -> str:
        """What makes two plans the same uv calls, wherever their folders are."""
        return _early.key(self._args(self.args), self.files, self._env(uv_cache, network))

    def memo(self, uv_cache: Path, network: Network | None) -> dict[str, Any] | None:
        """The plan as ``amber._early`` remembers it; None when it holds a credential."""
        env = self._env(uv_cache, network)
        calls = [self._args(self.args)]
        if self.cached:
            calls.append(self._args([*self.annotated_args(), "--offline"]))
        texts = [*(a for c in calls for a in c), *(t for _, t in self.files)]
        texts += [str(v) for v in env["set"].values()]  # type: ignore[attr-defined]
        if any(redact_text(t) != t for t in texts):
            return None
        key = self.key(uv_cache, network)
        return {"key": key, "files": [list(f) for f in self.files], "calls": calls, "env": env}

    def _args(self, args: Sequence[str]) -> list[str]:
        return [a.replace(str(self.folder), _early.FOLDER) for a in args]

    def _env(self, uv_cache: Path, network: Network | None) -> dict[str, object]:
        return env_change(uv_cache, dict(self.env), network, self.urls)


def _plan(
    tmp: Path,
    spec: Spec,
    platform: str,
    python: str,
    pins: Mapping[str, str],
    prefer: Sequence[LockedPypi] = (),
    upgrade: Collection[str] = (),
    extra: Sequence[str] = (),
    policy_args: Sequence[str] = (),
) -> _Plan:
    constraints = [*spec.pypi_constraints, *extra]
    for dist, version in sorted(pins.items()):
        try:
            constraints.append(f"{dist}=={Version(version)}")
        except InvalidVersion:
            continue
    reqs, cons = Path(tmp, "requirements.in"), Path(tmp, "constraints.txt")
    output = Path(tmp, "pylock.toml")
    # Credentials a user wrote go to uv only, in this private temporary directory.
    held = [_local_line(r, spec) or _held_commit(r, prefer, upgrade) for r in spec.pypi]
    files = [
        (reqs.name, "".join(requirement_with_credentials(r) + "\n" for r in held)),
        (cons.name, "\n".join(constraints) + "\n"),
    ]
    if prefer:
        files.append((output.name, _pylock(prefer)))
    requirements = dict(spec.system_requirements)
    args = [
        "pip", "compile", str(reqs), "--constraints", str(cons),
        "--format", "pylock.toml", "--no-header", "--quiet", "--output-file", str(output),
        "--python-version", python,
        "--python-platform", uv_python_platform(platform, requirements),
        # Only builds sdists; naming it spares uv a slow search of PATH (pyenv shims).
        "--python", sys.executable,
    ]  # fmt: skip
    if spec.as_of and not policy_args:
        args += ["--exclude-newer", spec.as_of]
    args += policy_args
    urls = [spec.index_url or "", *spec.extra_index_urls]
    urls += [(r.partition(" @ ")[2] or r).split(" ")[0] for r in spec.pypi]
    if any(in_query(url) for url in urls):
        args.append("--no-cache")  # uv's cache would keep the ?token= it was given
    for name in sorted(upgrade):
        args += ["--upgrade-package", name]
    if spec.index_url:
        args += ["--index-url", with_credentials(spec.index_url)]
    for url in spec.extra_index_urls:
        args += ["--extra-index-url", with_credentials(url)]
    macos = ".".join(map(str, macos_version(requirements)))
    target = {"MACOSX_DEPLOYMENT_TARGET": macos} if platform.startswith("osx-") else {}
    reached = [spec.index_url or PYPI_INDEX, *urls[1:]]
    return _Plan(tmp, tuple(files), tuple(args), tuple(sorted(target.items())), tuple(reached))


@dataclasses.dataclass
class _Calls:
    """A plan's uv calls under way: the pylock.toml (files and hashes) and, at the same
    time, the same resolution from uv's cache with ``# via`` annotations (the edges)."""

    folder: Path
    pylock: UvProcess
    annotated: UvProcess | None  # None when uv's cache is off
    cleanup: Callable[[], None] = lambda: None

    @classmethod
    def start(cls, plan: _Plan, uv_cache: Path, network: Network | None) -> _Calls:
        def start(args: Sequence[str]) -> UvProcess:
            return start_uv(
                args, cache_dir=uv_cache, env=dict(plan.env), network=network, urls=plan.urls
            )

        pylock = start(plan.args)
        annotated = start([*plan.annotated_args(), "--offline"]) if plan.cached else None
        return cls(plan.folder, pylock, annotated)

    def close(self) -> None:
        for call in (self.pylock, self.annotated):
            if call is not None:
                call.cancel()
        self.cleanup()


def _claim(plan: _Plan, uv_cache: Path, network: Network | None) -> _Calls | None:
    """The calls ``amber._early`` started for exactly this plan, if it did."""
    early = _early.claim(plan.key(uv_cache, network))
    if early is None:
        return None
    calls = [UvProcess(args, popen, None) for args, popen in early.calls]
    annotated = calls[1] if len(calls) > 1 else None
    return _Calls(Path(early.folder), calls[0], annotated, early.cleanup)


def prestart(
    spec: Spec, platform: str, python: str, uv_cache: Path, network: Network | None
) -> None:
    """Start the uv calls that ``compile_pypi`` of ``spec`` (no conda pins, no earlier
    lock, no policy) will plan, for it to take over (``amber._early``)."""
    stack = contextlib.ExitStack()
    tmp = stack.enter_context(scratch_dir("uv"))
    plan = _plan(tmp, spec, platform, python, {})
    plan.write()
    calls = _Calls.start(plan, uv_cache, network)
    started = [(c.args, c.popen) for c in (calls.pylock, calls.annotated) if c is not None]
    _early.offer(plan.key(uv_cache, network), str(tmp), started, stack.close)


def _annotated(
    calls: _Calls,
    plan: _Plan,
    packages: Sequence[Mapping[str, Any]],
    uv_cache: Path,
    network: Network | None,
) -> str:
    """uv's annotated requirements for the resolution in ``packages``: the offline call
    started beside the first when it found the same versions (it read uv's cache as the
    first left it); else the resolution again, pinned to ``packages``."""
    pins = sorted(_archive_pins(packages))
    if calls.annotated is not None:
        try:
            text = calls.annotated.result()
        except UvFailed:
            text = None  # uv's cache misses something the first call had to fetch
        if text is not None and _same_pins(_PINNED.findall(text), pins):
            return text
    pinned = Path(plan.folder, "pinned.txt")
    pinned.write_text("".join(f"{n}=={v}\n" for n, v in pins))
    args = [*plan.annotated_args(), "--constraints", str(pinned)]
    return _run_offline_first(args, uv_cache, dict(plan.env), network, plan.urls)


def _same_pins(a: Sequence[tuple[str, str]], b: Sequence[tuple[str, str]]) -> bool:
    def normal(pins: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        return {(str(canonicalize_name(n)), v) for n, v in pins}

    return normal(a) == normal(b)


_PINNED = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.MULTILINE)


def _archive_pins(packages: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """``(name, version)`` of the released files uv picked (git and local ones are held by
    their requirement lines already)."""
    return [
        (str(p["name"]), str(p["version"]))
        for p in packages
        if "version" in p and not p.get("vcs") and not p.get("directory")
    ]


def _without_output(args: Sequence[str]) -> list[str]:
    """``uv pip compile``'s arguments with its annotated requirements on stdout instead of
    the pylock.toml file."""
    out: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg in ("--output-file", "--format"):
            skip = True
        else:
            out.append(arg)
    return [*out, "--annotation-style", "line"]


def _run_offline_first(
    args: list[str],
    uv_cache: Path,
    env: Mapping[str, str],
    network: Network | None,
    urls: Sequence[str],
) -> str:
    """The resolution again, pinned: from uv's cache, which the first run just filled (and
    from the index when the cache is off or misses)."""
    if "--no-cache" not in args:
        try:
            return call_uv(
                [*args, "--offline"], cache_dir=uv_cache, env=env, network=network, urls=urls
            )
        except UvFailed:
            pass  # the cache misses something: ask the index, as the first run did
    return call_uv(args, cache_dir=uv_cache, env=env, network=network, urls=urls)


_ANNOTATED = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:==|@)[^#]*#\s*via\s+(.*)")


def _requires(annotated: str) -> dict[str, set[str]]:
    """Normalised name -> the names it depends on, from uv's ``# via`` annotations (which
    name each package's dependents: the edges, reversed). ``-r``/``-c`` are the request."""
    requires: dict[str, set[str]] = {}
    for line in annotated.splitlines():
        match = _ANNOTATED.match(line)
        if match is None:
            continue
        child = str(canonicalize_name(match.group(1)))
        for listed in match.group(2).split(","):
            # ``name``, ``name[extra]`` or ``name (where)``; ``-r``/``-c FILE`` the request.
            parent = (listed.split() or [""])[0].split("[", 1)[0]
            if parent and not parent.startswith("-"):
                requires.setdefault(str(canonicalize_name(parent)), set()).add(child)
    return requires


def _upload_times(packages: Sequence[Mapping[str, Any]]) -> dict[str, datetime.datetime]:
    """{name: the newest upload time of its files}, where uv's pylock.toml says."""
    found: dict[str, datetime.datetime] = {}
    for package in packages:
        for entry in [*package.get("wheels", []), package.get("sdist") or {}]:
            stamp = entry.get("upload-time")
            if isinstance(stamp, str):
                stamp = _as_datetime(stamp)
            if isinstance(stamp, datetime.datetime):
                stamp = stamp if stamp.tzinfo else stamp.replace(tzinfo=datetime.UTC)
                name = str(canonicalize_name(package["name"]))
                found[name] = max(found.get(name, stamp), stamp)
    return found


async def release_files(
    pins: Sequence[str],
    python: str,
    uv_cache: Path,
    *,
    index_url: str | None = None,
    extra_index_urls: Sequence[str] = (),
    find_links: Sequence[str] = (),
    no_index: bool = False,
    network: Network | None = None,
) -> dict[str, list[DistFile]]:
    """Canonical name -> every file of its pinned release (``name==version``) that has a
    URL and a sha256, as uv sees the index (through ``network``); ``UvFailed`` (our temp
    file named "the pins")."""
    with scratch_dir("uv") as tmp:
        source, output = Path(tmp, "pins.in"), Path(tmp, "pylock.toml")
        source.write_text("".join(f"{pin}\n" for pin in pins))
        # --universal lists every file of each pinned version (not only this platform's);
        # --no-deps keeps exactly the pins.
        args = [
            "pip", "compile", str(source), "--no-deps", "--universal",
            "--format", "pylock.toml", "--no-header", "--quiet", "--output-file", str(output),
            "--python-version", python, "--python", sys.executable,
        ]  # fmt: skip
        if index_url:
            args += ["--index-url", with_credentials(index_url)]
        for url in extra_index_urls:
            args += ["--extra-index-url", with_credentials(url)]
        for url in find_links:
            args += ["--find-links", url]
        if no_index:
            args.append("--no-index")
        try:
            reached = [index_url or PYPI_INDEX, *extra_index_urls, *find_links]
            await run_uv(args, cache_dir=uv_cache, network=network, urls=reached)
        except UvFailed as exc:
            stderr = exc.stderr.replace(str(source), "the pins")
            raise UvFailed(exc.args_, exc.returncode, stderr) from None
        packages = tomllib.loads(output.read_text()).get("packages", [])
    found: dict[str, list[DistFile]] = {}
    for package in packages:
        files = found.setdefault(str(canonicalize_name(package["name"])), [])
        for entry in [*package.get("wheels", []), package.get("sdist")]:
            if entry and entry.get("url") and entry.get("hashes", {}).get("sha256"):
                files.append(_dist_file(entry))
    return found


def _base(spec: Spec) -> Path:
    """The folder a spec's local projects are relative to: its file's (else the current)."""
    return spec.source.parent if spec.source is not None else Path.cwd()


def _local_line(requirement: str, spec: Spec) -> str | None:
    """uv's line for a local project (``-e /abs/dir``), else None."""
    local = local_directory(requirement)
    if local is None:
        return None
    path, editable = local
    where = (_base(spec) / path).resolve()
    return f"-e {where}" if editable else str(where)


def _local_pick(spec: Spec, name: str, package: Mapping[str, Any], directory: Any) -> LockedPypi:
    """A local project uv resolved: locked as the path the spec wrote, with no hash."""
    found = Path(str(directory.get("path", "")))
    for requirement in spec.pypi:
        local = local_directory(requirement)
        if local is not None and (_base(spec) / local[0]).resolve() == found.resolve():
            return LockedPypi(
                name=name,
                version=str(package.get("version", "")),
                path=local[0],
                editable=bool(directory.get("editable", False)),
            )
    raise ResolveError(
        f"{spec}: {name} resolved to the local directory {found}, which the spec does not "
        "name: write it in the spec (`-e ./path`), relative to the spec file",
        package=name,
    )


def _held_commit(requirement: str, prefer: Sequence[LockedPypi], upgrade: Collection[str]) -> str:
    """A git requirement pinned to the commit an earlier lock recorded for it (uv keeps
    preferences for files, not for a branch's commit); others, and ``upgrade``'s, as given."""
    name, at, rest = requirement.partition(" @ ")
    if not at and requirement.startswith("git+"):
        name, rest = "", requirement  # unnamed: the earlier lock's entry of that repository
    elif not at or not rest.startswith("git+"):
        return requirement
    else:
        name = str(canonicalize_name(name.split("[", 1)[0].strip()))
    url, hash_, fragment = rest.partition("#")
    base = url.rsplit("@", 1)[0] if "@" in url.split("://", 1)[-1].split("/", 1)[-1] else url
    subdirectory = next(
        (f"#subdirectory={v}" for k, _, v in (f.partition("=") for f in fragment.split("&"))
         if k == "subdirectory" and v not in ("", ".")),
        "",
    )  # fmt: skip
    for p in prefer:
        if p.commit and p.name == (name or p.name) and p.name not in upgrade:
            if _same_source(p.url, f"{redact(base)}{subdirectory}"):
                named = f"{requirement.partition(' @ ')[0]} @ " if name else ""
                return f"{named}{base}@{p.commit}{hash_}{fragment}"
    return requirement


def _same_source(a: str, b: str) -> bool:
    """Two ``git+URL`` the same repository: ``file:///x`` is ``file:/x`` (PEP 508 parsing
    writes the one, uv the other), a trailing ``/`` aside."""

    def norm(url: str) -> str:
        return url.replace("git+file:///", "git+file:/", 1).rstrip("/")

    return norm(a) == norm(b)


def _pylock(packages: Sequence[LockedPypi]) -> str:
    """A minimal pylock.toml of earlier picks: uv keeps them as preferences."""
    lines = ['lock-version = "1.0"', 'created-by = "amber"', ""]
    for p in packages:
        if p.path is not None:
            continue  # a local project: read again from its directory
        if p.commit is not None:
            url, _, subdirectory = p.url.removeprefix("git+").partition("#subdirectory=")
            sub = f', subdirectory = "{subdirectory}"' if subdirectory else ""
            lines += ["[[packages]]", f'name = "{p.name}"', f'version = "{p.version}"']
            lines += [f'vcs = {{ type = "git", url = "{url}", commit-id = "{p.commit}"{sub} }}']
            lines.append("")
            continue
        kind = "wheels" if p.file_name.endswith(".whl") else "sdist"
        entry = f'{{ url = "{p.url}", hashes = {{ sha256 = "{p.sha256}" }} }}'
        lines += ["[[packages]]", f'name = "{p.name}"', f'version = "{p.version}"']
        lines += [f"{kind} = [{entry}]" if kind == "wheels" else f"sdist = {entry}", ""]
    return "\n".join(lines)


def _pick(spec: Spec, package: dict[str, Any], python: str, platform: str) -> LockedPypi:
    """The file of a resolved release that ``platform`` installs (as ``uv pip sync`` would)."""
    name = str(canonicalize_name(package["name"]))
    vcs = package.get("vcs")
    if vcs:
        return _vcs_pick(spec, name, package, vcs, platform)
    directory = package.get("directory")
    if directory:
        return _local_pick(spec, name, package, directory)
    files = [_dist_file(w) for w in package.get("wheels", [])]
    fallback = package.get("sdist") or package.get("archive")
    if fallback:
        files.append(_dist_file(fallback))
    allowed = dict(spec.pypi_hashes).get(name)
    if allowed is not None:
        # pip's hash-checking mode: only the files whose sha256 the spec names may be taken.
        matching = [f for f in files if f.sha256 in allowed]
        if not matching:
            raise ResolveError(
                f"{spec}: {name} {package.get('version', '')}: no file of it has the sha256 "
                f"the spec's --hash names ({', '.join(allowed)}); its files have "
                f"{', '.join(f'{f.name} {f.sha256}' for f in files) or 'no hashes'}. THESE "
                "PACKAGES DO NOT MATCH THE HASHES, as pip says: check the hash, or the pin",
                platform=platform,
                package=name,
            )
        files = matching
    chosen = best_file(files, python, platform, dict(spec.system_requirements))
    if chosen is None or not chosen.url or not chosen.sha256:
        raise ResolveError(
            f"{spec}: {name} {package.get('version', '')} has no file for {platform} "
            f"(python {python}) with a URL and sha256 that a lock can pin",
            platform=platform,
            package=name,
        )
    return LockedPypi(
        name=name,
        version=str(package.get("version", "")),
        url=redact(chosen.url),
        sha256=chosen.sha256,
    )


def _vcs_pick(
    spec: Spec, name: str, package: Mapping[str, Any], vcs: Mapping[str, Any], platform: str
) -> LockedPypi:
    """A git source uv resolved to a commit: locked as ``git+URL`` at that commit."""
    commit, url = vcs.get("commit-id"), vcs.get("url")
    if vcs.get("type") != "git" or not isinstance(commit, str) or not isinstance(url, str):
        raise ResolveError(
            f"{spec}: {name}: uv resolved it to a {vcs.get('type')} source without a commit "
            "that a lock can pin",
            platform=platform,
            package=name,
        )
    if dict(spec.pypi_hashes).get(name) is not None:
        raise ResolveError(
            f"{spec}: {name} is a git reference, which has no file a --hash can name (pip "
            "refuses VCS requirements in hash-checking mode too): pin a released file instead",
            platform=platform,
            package=name,
        )
    subdirectory = vcs.get("subdirectory")
    fragment = f"#subdirectory={subdirectory}" if subdirectory not in (None, "", ".") else ""
    return LockedPypi(
        name=name,
        version=str(package.get("version", "")),
        url=f"git+{redact(url)}{fragment}",
        commit=commit,
    )


def _dist_file(entry: Mapping[str, Any]) -> DistFile:
    """A pylock.toml file entry; url and sha256 empty when uv gave none (never pinned)."""
    url = entry.get("url", "")
    sha256 = entry.get("hashes", {}).get("sha256", "")
    return DistFile(entry.get("name") or url.rsplit("/", 1)[-1], url, sha256)


def _clean(stderr: str, tmp: Path) -> str:
    """uv's message without our temp file names."""
    return redact_text(stderr.strip().replace(str(tmp / "requirements.in"), "the requirements"))
