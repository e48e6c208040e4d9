"""The conda half of resolution: rattler's solver over the spec's channels."""

from __future__ import annotations

import asyncio
import datetime
import functools
import json
import re
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import rattler
from rattler.exceptions import GatewayError, SolverError
from rattler.package_streaming import PackageArchive
from rattler.platform import Subdir

from amber import _auth
from amber._conda_client import conda_client
from amber._fs import write_atomic
from amber._names import canonical_name
from amber._urls import redact, redact_text
from amber.channels import FALLBACK_CHANNELS, CondaConfig
from amber.errors import OutputError, ResolveError, SourceError, SpecError
from amber.lock import LockedConda
from amber.resolve import priority
from amber.resolve.virtual import missing_virtual_hint
from amber.settings import Network
from amber.spec import Spec

if TYPE_CHECKING:
    from amber.policy import Policy

__all__ = ["CondaSolver", "DEFAULT_CHANNELS", "solver_channels"]

DEFAULT_CHANNELS = FALLBACK_CHANNELS
_PRIORITIES = {
    "strict": rattler.ChannelPriority.Strict,
    "disabled": rattler.ChannelPriority.Disabled,
}
_CHANNEL_KEY = re.compile(r'channel="([^"]+)"')
_DIST_DIR = re.compile(r"(?:^|/)site-packages/([^/]+?)-([^/-]+)\.(?:dist-info|egg-info)/")


class CondaSolver:
    """Solves one spec's conda part for any platform, sharing one repodata gateway."""

    def __init__(
        self,
        spec: Spec,
        repodata_cache: Path,
        conda_pkgs: Path,
        network: Network | None = None,
        channel_config: CondaConfig | None = None,
        policy: Policy | None = None,
    ) -> None:
        self.spec = spec
        self.policy = policy
        self.network = network or Network()
        self.conda_pkgs = conda_pkgs
        config = channel_config or CondaConfig()
        # As written (``${VAR}`` kept) for messages. rattler gets them expanded with the
        # credentials taken out (``_auth.remember``, before the client is built): the
        # gateway, its repodata cache and the records see only the clean URL, and the
        # client puts the credentials back into the requests alone.
        self.channels, specs = solver_channels(spec, config)
        self._fetch_channels = [_auth.remember(config.expand_vars(c)) for c in self.channels]
        self._specs, self._files = _pinned_files(
            spec, [_expand_spec_channel(s, config) for s in specs]
        )
        self.repodata_cache = repodata_cache
        # Channels on disk alone (and no mirror to send them elsewhere) make no request:
        # rattler's own default stands in for the HTTP client (TLS roots, auth storage).
        local = all(c.startswith("file://") for c in self._fetch_channels)
        client = None if local and not self.network.mirrors else conda_client(self.network)
        self.gateway = rattler.Gateway(cache_dir=repodata_cache, client=client)

    async def solve(
        self, platform: str, virtual: list[str], locked: Sequence[LockedConda] = ()
    ) -> list[LockedConda]:
        """Solve for ``platform``; ``locked`` packages are kept where the request allows."""
        try:
            return await self._solve(platform, virtual, locked)
        except SourceError as exc:
            if "304 Not Modified" not in str(exc):
                raise
            # rattler 0.28 takes a "304 Not Modified" answer to the revalidation of a cached
            # sharded index (what nginx and most static servers send) for an error: solve
            # again with fresh repodata instead.
            self.gateway = rattler.Gateway(
                cache_dir=self.repodata_cache,
                default_config=rattler.SourceConfig(cache_action="no-cache"),
                client=conda_client(self.network),
            )
            return await self._solve(platform, virtual, locked)

    async def _solve(
        self, platform: str, virtual: list[str], locked: Sequence[LockedConda]
    ) -> list[LockedConda]:
        platforms = [Subdir(platform), Subdir("noarch")]

        visible: list[_Visible] = []  # the policy's view of the records (built once)

        async def solve(sources: Sequence[Any], kind: str, policy: bool = True) -> list[Any]:
            if self.policy is not None and policy:
                if not visible:
                    visible.append(_Visible(self.policy, priority.index_of(await query())))
                sources = visible[0].over(sources)
            return await rattler.solve(
                sources,
                self._specs,
                gateway=self.gateway,
                platforms=platforms,
                virtual_packages=to_rattler(virtual),
                channel_priority=_PRIORITIES[kind],
                exclude_newer=self.spec.as_of_datetime,
                timestamp_policy="allow-missing",
                locked_packages=[p.to_record() for p in locked] or None,
            )

        names = list(dict.fromkeys(_conda_name(s) for s in self.spec.conda))

        async def query() -> Any:
            # By name: every record of each name (a spec's own bounds are the solver's).
            return await self.gateway.query(self._fetch_channels, platforms, names)

        try:
            disabled = functools.partial(solve, kind="disabled")
            if self.spec.priority == "flexible":
                records = await priority.flexible(
                    lambda: solve(self._fetch_channels, "strict"),
                    disabled,
                    query,
                    names,
                )
            elif self.spec.priority == "strict":
                records = await priority.strict(
                    disabled, query, lambda _: solve(self._fetch_channels, "disabled")
                )
            else:
                records = await solve(self._fetch_channels, "disabled")
        except SolverError as exc:
            if visible:
                await self._explain_policy(
                    platform, visible[0], lambda: solve(self._fetch_channels, "disabled", False)
                )
            hint = missing_virtual_hint(_explain(exc), platform)
            raise ResolveError(
                f"{self.spec}: cannot satisfy the conda request for {platform} "
                f"from {', '.join(redact(c) for c in self.channels)}.\n{_explain(exc)}"
                + (f"\n{hint}" if hint else ""),
                platform=platform,
            ) from None
        except GatewayError as exc:
            raise SourceError(
                f"{self.spec}: cannot read the channels "
                f"{', '.join(redact(c) for c in self.channels)}: {_explain(exc)}",
                url=_culprit(self.channels, self._fetch_channels, str(exc)),
            ) from None
        locked = [LockedConda.from_record(r) for r in records]
        _check_files(self.spec, platform, locked, self._files)
        return locked

    async def _explain_policy(
        self, platform: str, visible: _Visible, unpoliced: Callable[[], Awaitable[list[Any]]]
    ) -> None:
        """Unsatisfiable under the policy: solve again without it and, if that solves, say
        which rule removed which needed package (and who needs it)."""
        try:
            records = await unpoliced()
        except (SolverError, GatewayError):
            return  # unsatisfiable anyway: the solver's own message says why
        requested = {_conda_name(s): s for s in self.spec.conda}
        lines = []
        for record in records:
            said = visible.refused(record)
            if said is None:
                continue
            name = record.name.normalized
            needers = [
                f"{r.name.normalized} {r.version} needs {dep}"
                for r in records
                for dep in r.depends
                if dep.split()[0] == name
            ]
            if name in requested:
                needers.insert(0, f"the spec asks for {requested[name]}")
            need = "; ".join(needers[:3]) or f"the solution needs {name}"
            lines.append(f"{need}: {name} {record.version} {record.build}, which {said} removed")
        if lines:
            raise ResolveError(
                f"{self.spec}: the policy ({self.policy.source if self.policy else ''}) "
                f"makes the conda request for {platform} unsatisfiable; without it, "
                + "\n".join(lines),
                platform=platform,
                package=records[0].name.normalized if records else None,
            )

    async def provided_dists(
        self, packages: list[LockedConda]
    ) -> dict[str, list[tuple[str, str | None]]]:
        """PyPI distributions each Python conda package installs: {conda name: [(dist, ver)]}."""
        python_pkgs = [
            p for p in packages if p.name != "python" and (p.noarch == "python" or _needs_python(p))
        ]
        found = await asyncio.gather(*(self._dists_of(p) for p in python_pkgs))
        return {p.name: dists for p, dists in zip(python_pkgs, found, strict=True)}

    async def _dists_of(self, package: LockedConda) -> list[tuple[str, str | None]]:
        # 1. the package cache (already extracted), 2. the archive's info/paths.json
        # (a range request for .conda over HTTP), 3. the conda name itself.
        memo = self.conda_pkgs / ".dists" / f"{package.sha256}.json"
        dists = _read_memo(memo)
        paths = None if dists is not None else await self._paths_of(package)
        if paths is not None:
            dists = []
            for path in paths:
                match = _DIST_DIR.search(path)
                if match:
                    dist = (canonical_name(match.group(1)), match.group(2))
                    if dist not in dists:
                        dists.append(dist)
            try:  # atomically: concurrent resolves read it while it is written
                write_atomic(memo, json.dumps(dists))
            except OutputError:
                pass  # a memo that cannot be kept (a full disk) is only recomputed next time
        # Fallback: the conda name and version, so uv is still held to what conda installs.
        return dists or [(canonical_name(package.name), package.version)]

    async def _paths_of(self, package: LockedConda) -> list[str] | None:
        stem = package.file_name.removesuffix(".conda").removesuffix(".tar.bz2")
        cached = self.conda_pkgs / stem / "info" / "paths.json"
        try:
            if cached.is_file():
                return [p["_path"] for p in json.loads(cached.read_text()).get("paths", [])]
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            pass  # being extracted by another process, or damaged: read the archive instead
        try:
            if package.url.startswith("file://"):
                archive = await PackageArchive.from_path(unquote(urlsplit(package.url).path))
            else:
                archive = await PackageArchive.from_url(conda_client(self.network), package.url)
            paths_json = await archive.paths_json()
            return [str(entry.relative_path) for entry in paths_json.paths]
        except Exception:
            return None  # fall back to the conda name: never fail a resolve over this


class _Visible:
    """What the policy lets the solver see: every record the request reaches, minus those a
    source rule, a ban or the cooldown refuses."""

    def __init__(self, policy: Policy, index: priority.Index) -> None:
        self.policy = policy
        self.index = index
        self.now = datetime.datetime.now(datetime.UTC)

    def refused(self, record: Any) -> str | None:
        from amber.policy import Candidate, refusal  # noqa: PLC0415 - a policy's cost

        stamp = record.timestamp
        found = refusal(
            self.policy,
            Candidate(
                "conda", record.name.normalized, str(record.version), record.build,
                record.channel or "", stamp,
            ),
            self.now,
        )  # fmt: skip
        return found.says if found else None

    @functools.cached_property
    def refuses_any(self) -> bool:
        """Whether the policy hides any record the request can reach (the query is
        recursive): when not, the solver reads the channels itself, as without a policy."""
        return any(self.refused(r) is not None for rs in self.index.records.values() for r in rs)

    def over(self, sources: Sequence[Any]) -> list[Any]:
        """``sources`` (channels, or priority's held sources) with refused records hidden."""
        if not self.refuses_any:  # rattler's own gateway: no record crosses into Python
            return list(sources)
        inner = [s for s in sources if hasattr(s, "fetch_package_records")]
        if not inner:
            inner = [priority.Held(self.index.records, {})]
        return [_Filtered(s, self) for s in inner]


class _Filtered:
    """rattler's ``RepoDataSource``: another source's records, minus the refused ones."""

    def __init__(self, inner: Any, visible: _Visible) -> None:
        self.inner = inner
        self.visible = visible

    async def fetch_package_records(self, platform: Any, name: Any) -> list[Any]:
        found = await self.inner.fetch_package_records(platform, name)
        return [r for r in found if self.visible.refused(r) is None]

    def package_names(self, platform: Any) -> list[str]:
        return list(self.inner.package_names(platform))


def _read_memo(memo: Path) -> list[tuple[str, str | None]] | None:
    """The distributions remembered for a package, ``None`` when there is no memo or it is
    not what ``_dists_of`` writes (truncated by a crash, damaged): then it is recomputed."""
    try:
        data = json.loads(memo.read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(data, list) or not all(
        isinstance(d, list)
        and len(d) == 2
        and isinstance(d[0], str)
        and (d[1] is None or isinstance(d[1], str))
        for d in data
    ):
        return None
    return [(d[0], d[1]) for d in data]


def _conda_name(spec: str) -> str:
    """The package name of a canonical match spec (``chan::name >=1`` -> ``name``)."""
    return str(rattler.MatchSpec(spec).name.normalized) if spec else spec


def _pinned_files(spec: Spec, texts: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """The match specs ``texts`` for rattler, and {name: file} of those with ``fn=``:
    rattler 0.28 ignores ``fn``, so the version and build the file name spells are added
    (and the solved file is checked against it afterwards)."""
    specs: list[str] = []
    files: dict[str, str] = {}
    for text in texts:
        match = rattler.MatchSpec(text)
        file_name = match.file_name
        if not file_name:
            specs.append(text)
            continue
        name = match.name.normalized if match.name else ""
        stem = file_name.removesuffix(".conda").removesuffix(".tar.bz2")
        parts = stem.rsplit("-", 2)
        if stem == file_name or len(parts) != 3 or parts[0] != name:
            raise ResolveError(
                f"{spec}: {text!r}: fn={file_name!r} is not a file of {name!r} "
                "(expected NAME-VERSION-BUILD.conda or .tar.bz2)",
                package=name,
            )
        files[name] = file_name
        specs += [text, f"{name} =={parts[1]} {parts[2]}"]  # rattler takes both as one request
    return specs, files


def _check_files(
    spec: Spec, platform: str, locked: Sequence[LockedConda], files: dict[str, str]
) -> None:
    """``fn=`` honoured: the solved package is that very file, else a clear refusal."""
    for package in locked:
        wanted = files.get(package.name)
        if wanted and package.file_name != wanted:
            raise ResolveError(
                f"{spec}: {package.name}[fn={wanted}] asks for that file, but the channel's "
                f"{package.name} {package.version} {package.build} for {platform} is "
                f"{package.file_name} (rattler prefers .conda over .tar.bz2 of the same "
                f"build, and the lock names one file per build): ask for {package.file_name}",
                platform=platform,
                package=package.name,
            )


def solver_channels(spec: Spec, config: CondaConfig) -> tuple[list[str], list[str]]:
    """(channel URLs in priority order, match specs) for the solver.

    Names still in ``spec.channels`` (a spec made in Python, an older lock) resolve with
    ``config``; no channel at all means ``FALLBACK_CHANNELS``. A ``channel::pkg`` whose
    channel is not among them is searched too, after them, as conda's solver does
    (``conda.core.solve``: "additional_channels"); the spec names it by URL.
    """
    platforms = spec.target_platforms
    channels = list(config.channel_urls(spec.channels, platforms=platforms, add_configured=False))
    if not channels:
        channels = list(config.channel_urls(FALLBACK_CHANNELS, add_configured=False))
    specs = []
    for text in spec.conda:
        channel, rest = _split_channel(text)
        if channel is None:
            specs.append(text)
            continue
        urls = config.expand(channel, platforms=platforms)
        if len(urls) != 1:
            raise SpecError(
                f"{spec}: '{text}' names the multichannel {channel!r} ({', '.join(urls)}); "
                "a match spec can name only one channel: name one of those"
            )
        config.check_allowed(urls)
        if urls[0] not in channels:
            channels.append(urls[0])
        specs.append(f"{urls[0]}::{rest}" if "::" in text else text)
    return channels, specs


def _split_channel(text: str) -> tuple[str | None, str]:
    """The channel a canonical match spec names (``name::pkg`` or ``pkg[channel="URL"]``)."""
    if "::" in text:
        channel, rest = text.split("::", 1)
        return channel, rest
    match = _CHANNEL_KEY.search(text)
    if match:
        return unquote(match.group(1)).rstrip("/"), text
    return None, text


def _expand_spec_channel(text: str, config: CondaConfig) -> str:
    if "::" in text:
        channel, rest = text.split("::", 1)
        return f"{_auth.remember(config.expand_vars(channel))}::{rest}"
    return _CHANNEL_KEY.sub(
        lambda m: f'channel="{_auth.remember(config.expand_vars(unquote(m.group(1))))}"', text
    )


def _needs_python(package: LockedConda) -> bool:
    return any(dep.split()[0] == "python" for dep in package.depends)


def _explain(exc: BaseException) -> str:
    # rattler names the URL it requested: with a channel's credentials put back in.
    return redact_text(str(exc).strip())


def _culprit(channels: list[str], fetched: list[str], said: str) -> str | None:
    """The channel an error names (as written: ``fetched`` is what rattler was given for
    each), else the only one asked for (``SourceError.url``)."""
    named = [
        c
        for c, f in zip(channels, fetched, strict=True)
        if any(u.rstrip("/") in said for u in (c, f, redact(c)))
    ]
    if named:
        return named[0]
    return channels[0] if len(channels) == 1 else None


def to_rattler(packages: list[str]) -> list[rattler.GenericVirtualPackage]:
    """``name=version=build`` strings (``virtual_packages``) as rattler's virtual packages."""
    out = []
    for text in packages:
        name, version, build = text.split("=")
        out.append(
            rattler.GenericVirtualPackage(
                rattler.PackageName(name), rattler.Version(version), rattler.BuildString(build)
            )
        )
    return out
