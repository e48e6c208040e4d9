"""conda's ``channel_priority`` (strict, flexible) on top of rattler's solver.

conda's strict priority takes each package name only from the first channel that has the
name at all (``Resolve._get_strict_channel``); rattler's strict only from the first channel
with a record matching each spec. ``strict`` gives conda's: every name two channels serve
held to its first one, and rattler's disabled solve over what that leaves.

conda's flexible priority (the classic solver's ``version_key``: channel rank before
version) prefers, for every package, the highest-priority channel that has it, and takes
a lower-priority channel's build only where the higher one cannot satisfy the request.
Here, for one platform:

1. solve with rattler's strict priority (for each match spec, the first channel that has
   a *matching* record); a solution is flexible's too;
2. otherwise the names more than one channel serves are *contested*. Each is held to its
   first channel in turn (the requested names in the spec's order, then the others by
   name), and a hold is kept only if the request stays satisfiable with every hold kept so
   far (checked by a disabled solve over the records the holds leave; holds tested in
   halves, so a few relaxed names cost a few solves). A name whose first channel cannot
   be kept is held to its next channel the same way, else left free;
3. the answer is rattler's disabled solve (highest versions) over the records left.

Where conda can differ: conda minimises the *sum* of channel ranks of all requested
packages, then of all packages, in one optimisation; this keeps holds greedily in the
order above, so when two names cannot both stay in their first channel, the one earlier
in the spec stays (conda might keep the other if that moves fewer packages).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any

from rattler.exceptions import SolverError

__all__ = ["Records", "Solve", "Query", "Held", "Index", "index_of", "strict", "flexible"]

Records = list[Any]  # rattler's RepoDataRecord
# A disabled solve over these sources (a channel list, or [a filtered source]).
Solve = Callable[[Sequence[Any]], Awaitable[Records]]
# Every record the request reaches: one list per channel (and subdir), in priority order.
Query = Callable[[], Awaitable[Iterable[Iterable[Any]]]]


class Held:
    """rattler's ``RepoDataSource``: every record queried, but a held name's from its channel."""

    def __init__(self, records: Mapping[tuple[str, str], Records], held: Mapping[str, str]):
        self.records = records
        self.held = dict(held)

    async def fetch_package_records(self, platform: Any, name: Any) -> Records:
        key = name.normalized
        found = self.records.get((str(platform), key), [])
        if key in self.held:
            return [r for r in found if r.channel == self.held[key]]
        return list(found)

    def package_names(self, platform: Any) -> list[str]:
        return sorted({name for subdir, name in self.records if subdir == str(platform)})


class Index:
    """Every record a request can reach, by (subdir, name), and the channels serving each
    name in priority order."""

    def __init__(self, per_source: Iterable[Iterable[Any]]) -> None:
        self.records: dict[tuple[str, str], Records] = {}
        rank: dict[str, int] = {}
        channels: dict[str, set[str]] = {}
        for records in per_source:
            for record in records:
                rank.setdefault(record.channel, len(rank))
                name = record.name.normalized
                self.records.setdefault((record.subdir, name), []).append(record)
                channels.setdefault(name, set()).add(record.channel)
        self.contested = {
            name: sorted(found, key=lambda c: rank[c])
            for name, found in sorted(channels.items())
            if len(found) > 1
        }

    def first_channels(self) -> dict[str, str]:
        """conda's strict priority: every name held to the first channel that has it."""
        return {name: found[0] for name, found in self.contested.items()}


def index_of(per_source: Iterable[Iterable[Any]]) -> Index:
    """The records a query reached, by (subdir, name)."""
    return Index(per_source)


async def strict(disabled: Solve, query: Query, plain: Solve) -> Records:
    """conda's strict priority: a name comes only from the first channel that has it, at
    any version (rattler's own strict looks for the first channel with a *matching*
    record, which is closer to flexible). ``plain`` is the disabled solve over the channels
    themselves, used when no name is in two channels."""
    index = Index(await query())
    if not index.contested:
        return await plain([])
    return await disabled([Held(index.records, index.first_channels())])


async def flexible(
    rattler_strict: Callable[[], Awaitable[Records]],
    disabled: Solve,
    query: Query,
    requested: Sequence[str],
) -> Records:
    """conda's flexible channel priority: rattler's strict solve if it solves, else the
    holds described above.

    ``query`` gives every record the request can reach, channel by channel in priority
    order; ``requested`` the requested names in the spec's order."""
    try:
        return await rattler_strict()
    except SolverError as exc:
        strict_error = exc
    index = Index(await query())
    if not index.contested:
        raise strict_error
    records, contested = index.records, index.contested
    if await _solves(disabled, records, {}) is None:
        # Unsatisfiable from every channel at once: say what the solver says.
        await disabled([Held(records, {})])
    first = [n for n in dict.fromkeys(requested) if n in contested]
    order = first + [n for n in contested if n not in first]
    held: dict[str, str] = {}
    await _hold(disabled, records, held, [(n, contested[n][0]) for n in order])
    for name in order:
        for channel in contested[name][1:] if name not in held else ():
            if await _solves(disabled, records, {**held, name: channel}) is not None:
                held[name] = channel
                break
    return await disabled([Held(records, held)])


async def _solves(
    disabled: Solve, records: Mapping[tuple[str, str], Records], held: Mapping[str, str]
) -> Records | None:
    try:
        return await disabled([Held(records, held)])
    except SolverError:
        return None


async def _hold(
    disabled: Solve,
    records: Mapping[tuple[str, str], Records],
    held: dict[str, str],
    wanted: list[tuple[str, str]],
) -> None:
    """Add to ``held`` each of ``wanted`` that keeps the request satisfiable, in order (the
    greedy choice, found by halves)."""
    if not wanted:
        return
    if await _solves(disabled, records, {**held, **dict(wanted)}) is not None:
        held.update(wanted)
        return
    if len(wanted) == 1:
        return
    middle = len(wanted) // 2
    await _hold(disabled, records, held, wanted[:middle])
    await _hold(disabled, records, held, wanted[middle:])
