"""Why a package is in a lock: the dependency graph of one platform, its tree from the
requested specs down (or from a package up, inverted) and the chains that pull a package in.

Edges come from what the lock records: a conda record's ``depends`` (virtual packages
included, as the solve assumed them) and a PyPI entry's ``requires``. A PyPI name that a
conda package provides (the lock's ``provided``) leads to that conda package.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from packaging.utils import canonicalize_name

from amber._platform import host_platform
from amber.errors import LockFileError
from amber.lock import Lock, LockedPypi, PlatformLock
from amber.spec.model import is_unnamed, local_directory


def _requirement_name(text: str) -> str | None:
    """The canonical name of a PEP 508 requirement, or ``None`` when it is not one."""
    # On use: `amber lock` of a conda spec (which imports this through the diff) parses no
    # PEP 508 requirement (benchmark 16).
    from packaging.requirements import InvalidRequirement, Requirement  # noqa: PLC0415

    try:
        return str(canonicalize_name(Requirement(text).name))
    except InvalidRequirement:
        return None


__all__ = ["Node", "Graph", "Branch", "Chain", "graph", "platform_of", "tree", "inverted", "why"]

Kind = Literal["conda", "pypi", "virtual", "absent"]


@dataclass(frozen=True)
class Node:
    """One package of the graph; ``key`` is ``kind:name`` (a conda and a PyPI package of
    the same name are two nodes)."""

    kind: Kind
    name: str
    version: str

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.name}"


@dataclass(frozen=True)
class Graph:
    """The packages of one platform of a lock, who depends on whom, and what was requested."""

    platform: str
    nodes: Mapping[str, Node]
    edges: Mapping[str, tuple[str, ...]]  # key -> the keys it depends on, sorted by name
    requested: tuple[tuple[str, str], ...]  # (key, the requested spec), sorted by name
    unrecorded: tuple[str, ...]  # PyPI packages whose lock entry records no ``requires``
    mixed: bool  # conda and PyPI packages both: the text marks PyPI ones

    def dependents(self) -> dict[str, tuple[str, ...]]:
        """key -> the keys that depend on it, sorted by name."""
        found: dict[str, set[str]] = {}
        for parent, children in self.edges.items():
            for child in children:
                found.setdefault(child, set()).add(parent)
        return {k: tuple(sorted(v, key=self._order)) for k, v in found.items()}

    def named(self, name: str) -> list[str]:
        """The keys of the packages called ``name`` (conda's spelling or PyPI's normalised
        one); ``LockFileError`` naming the platform when there is none."""
        wanted = {name.strip().lower(), str(canonicalize_name(name.strip()))}
        keys = [
            k
            for k, n in self.nodes.items()
            if n.kind != "absent" and {n.name.lower(), str(canonicalize_name(n.name))} & wanted
        ]
        if not keys:
            raise LockFileError(
                f"{name!r} is not in the lock for {self.platform}: `amber tree --platform "
                f"{self.platform}` shows what is",
                package=name,
            )
        return sorted(keys, key=self._order)

    def requested_as(self, key: str) -> str | None:
        return next((text for k, text in self.requested if k == key), None)

    def _order(self, key: str) -> tuple[str, str]:
        node = self.nodes[key]
        return (node.name.lower(), node.kind)


@dataclass(frozen=True)
class Branch:
    """One line of a tree and what hangs below it; ``repeated``: shown before, not again."""

    node: Node
    children: tuple[Branch, ...] = ()
    repeated: bool = False
    requested: str | None = None  # the requested spec, when the package was requested


@dataclass(frozen=True)
class Chain:
    """A package and, up to a requested spec, what pulls it in: ``nodes[0]`` is the
    package, each next one depends on the one before, the last one was requested as
    ``requested``."""

    nodes: tuple[Node, ...]
    requested: str


_CONDA_NAME = re.compile(r"[^\s=<>!~\[,]+")


def _conda_dep_name(spec: str) -> str:
    """The package name of a conda match spec (``openssl >=3,<4``, ``conda-forge::zlib``)."""
    match = _CONDA_NAME.match(spec.split("::")[-1].strip())
    return match.group(0) if match else spec


def platform_of(lock: Lock, platform: str | None) -> str:
    """The platform to show: the one asked for, else this machine's when the lock has it,
    else the lock's only one; ``LockFileError`` listing them when that leaves a choice."""
    if platform is not None:
        return lock.for_platform(platform).platform
    if host_platform() in lock.platforms or len(lock.platforms) != 1:
        return lock.for_platform(host_platform()).platform
    return next(iter(lock.platforms))


def graph(lock: Lock, platform: str) -> Graph:
    """The graph of ``platform`` in ``lock``; ``LockFileError`` when the lock lacks it."""
    body = lock.for_platform(platform)
    nodes: dict[str, Node] = {}
    for c in body.conda:
        nodes[f"conda:{c.name}"] = Node("conda", c.name, c.version)
    for p in body.pypi:
        nodes[f"pypi:{p.name}"] = Node("pypi", p.name, p.version)
    virtual = {}
    for text in body.virtual_packages:
        name, _, rest = text.partition("=")
        virtual[name] = rest.partition("=")[0] or "0"
    edges: dict[str, tuple[str, ...]] = {}
    for c in body.conda:
        edges[f"conda:{c.name}"] = _unique(
            _conda_key(_conda_dep_name(d), nodes, virtual) for d in c.depends
        )
    for p in body.pypi:
        edges[f"pypi:{p.name}"] = _unique(_pypi_key(r, body, nodes) for r in p.requires or ())
    requested = _requested(lock, body, nodes)
    order = {k: (n.name.lower(), n.kind) for k, n in nodes.items()}
    edges = {k: tuple(sorted(v, key=order.__getitem__)) for k, v in edges.items()}
    return Graph(
        platform=platform,
        nodes=nodes,
        edges=edges,
        requested=tuple(sorted(requested, key=lambda kr: order[kr[0]])),
        unrecorded=tuple(p.name for p in body.pypi if p.requires is None),
        mixed=bool(body.conda and body.pypi),
    )


def _unique(keys: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(keys))


def _conda_key(name: str, nodes: dict[str, Node], virtual: Mapping[str, str]) -> str:
    key = f"conda:{name}"
    if key in nodes:
        return key
    if name.startswith("__"):
        # A virtual package: what the solve assumed of the machine (absent: not assumed).
        key = f"virtual:{name}"
        nodes.setdefault(key, Node("virtual", name, virtual.get(name, "")))
        return key
    key = f"absent:{name}"
    nodes.setdefault(key, Node("absent", name, ""))
    return key


def _pypi_key(name: str, body: PlatformLock, nodes: dict[str, Node]) -> str:
    name = str(canonicalize_name(name))
    if f"pypi:{name}" in nodes:
        return f"pypi:{name}"
    provider = body.provided.get(name)
    if provider is not None and f"conda:{provider}" in nodes:
        return f"conda:{provider}"
    key = f"absent:{name}"
    nodes.setdefault(key, Node("absent", name, ""))
    return key


def _requested(lock: Lock, body: PlatformLock, nodes: dict[str, Node]) -> list[tuple[str, str]]:
    found: dict[str, str] = {}
    for text in lock.spec.conda:
        key = f"conda:{_conda_dep_name(text)}"
        if key in nodes:
            found.setdefault(key, text)
    for text in lock.spec.pypi:
        for entry in _pypi_entries(text, body):
            found.setdefault(f"pypi:{entry.name}", text)
        local = local_directory(text)
        if local is None and not is_unnamed(text):
            name = _requirement_name(text)
            if name is None:
                continue
            provider = body.provided.get(name)
            if f"pypi:{name}" not in nodes and provider and f"conda:{provider}" in nodes:
                found.setdefault(f"conda:{provider}", text)
    return list(found.items())


def _pypi_entries(text: str, body: PlatformLock) -> list[LockedPypi]:
    """The PyPI entries a requested line stands for (by name, local path or source URL)."""
    local = local_directory(text)
    if local is not None:
        return [p for p in body.pypi if (p.path, p.editable) == local]
    if is_unnamed(text):
        return [p for p in body.pypi if p.url and p.url.split("#", 1)[0] in text]
    name = _requirement_name(text)
    if name is None:
        return []
    return [p for p in body.pypi if p.name == name]


def tree(g: Graph, depth: int | None = None) -> list[Branch]:
    """The tree from the requested packages down; a package shown once is ``repeated``
    after (its subtree not shown again), as ``pixi tree`` and ``uv tree`` mark with (*)."""
    seen: set[str] = set()
    return [_branch(g, key, g.edges, seen, depth, 0) for key, _ in g.requested]


def inverted(g: Graph, name: str, depth: int | None = None) -> list[Branch]:
    """From the package(s) called ``name`` up to the requested ones: who pulls it in."""
    up = g.dependents()
    seen: set[str] = set()
    return [_branch(g, key, up, seen, depth, 0) for key in g.named(name)]


def _branch(
    g: Graph,
    key: str,
    edges: Mapping[str, Sequence[str]],
    seen: set[str],
    depth: int | None,
    level: int,
) -> Branch:
    node, requested = g.nodes[key], g.requested_as(key)
    if key in seen:
        return Branch(node, repeated=True, requested=requested)
    if depth is not None and level >= depth:
        return Branch(node, requested=requested)  # not expanded here: may be, further on
    seen.add(key)
    children = tuple(_branch(g, k, edges, seen, depth, level + 1) for k in edges.get(key, ()))
    return Branch(node, children, requested=requested)


def why(g: Graph, name: str) -> list[Chain]:
    """For each requested package that pulls ``name`` in, the shortest chain from it down
    to ``name``: shortest first, then by the requested package's name."""
    chains = []
    up = g.dependents()
    for target in g.named(name):
        # Breadth first from the package up: the first path to reach each node is shortest;
        # ties go to the dependent first by name (the lists are sorted).
        previous: dict[str, str | None] = {target: None}
        queue = deque([target])
        while queue:
            key = queue.popleft()
            for parent in up.get(key, ()):
                if parent not in previous:
                    previous[parent] = key
                    queue.append(parent)
        for root, text in g.requested:
            if root not in previous:
                continue
            path = [root]
            step = previous[root]
            while step is not None:
                path.append(step)
                step = previous[step]
            chains.append(Chain(tuple(g.nodes[k] for k in reversed(path)), text))
    return sorted(chains, key=lambda c: (len(c.nodes), c.nodes[-1].name.lower(), c.requested))
