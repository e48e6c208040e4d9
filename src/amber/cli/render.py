"""The only place the CLI formats output: tables, JSON, sizes and dates.

Reports and progress go to stderr, results (paths, tables, JSON) to stdout.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from amber._input import clip_lines
from amber._units import human_bytes
from amber.api import views

if TYPE_CHECKING:
    from amber.api.convert import AdoptedFiles, Written
    from amber.api.files import Locked
    from amber.api.runs import Runs
    from amber.api.share import Pushed
    from amber.api.show import EnvDetails, Verified
    from amber.condarc import Setting
    from amber.inspect.audit import AuditReport
    from amber.inspect.diff import Change, Row
    from amber.inspect.tree import Branch, Chain, Graph, Node
    from amber.lock import Lock
    from amber.pipeline.describe import StepRow
    from amber.policy import Finding
    from amber.remote import GcResult, TagInfo
    from amber.run.kernel import Kernel
    from amber.ship.bundle import BundleInfo
    from amber.ship.pack import PackResult
    from amber.store import EnvRecord, RunRecord, TagRecord
    from amber.store.du import Usage
    from amber.store.env import Env
    from amber.store.gc import GcReport

__all__ = [
    "when",
    "changes",
    "locked",
    "findings",
    "added",
    "diff",
    "paths",
    "env_list",
    "env_show",
    "removed_env",
    "tagged",
    "untagged",
    "env_tags",
    "verified",
    "audited",
    "du",
    "gc",
    "pushed",
    "remote_tags",
    "remote_gc",
    "bundled",
    "packed",
    "unpacked",
    "exported",
    "adopted",
    "runs",
    "run",
    "steps",
    "kernels",
    "kernel_installed",
    "kernel_removed",
    "changes_to_json",
    "summary",
    "render_changes",
    "print_changes",
    "dependency_tree",
    "tree_lines",
    "why",
    "chain_line",
    "diff_markdown",
    "print_diff_markdown",
    "serving",
    "reported",
]


def when(timestamp: float | None) -> str:
    """A local date and time to the minute; ``None`` (unknown) -> '-'."""
    if timestamp is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp))


def _json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2))


def _note(text: str) -> None:
    click.echo(clip_lines(text), err=True)  # a note may quote what a crafted lock holds


# -- lock, add, diff ------------------------------------------------------------------


def changes(old: Lock, new: Lock) -> None:
    """The change table between two locks, on stderr (progress and reports go there)."""
    from amber.inspect.diff import diff_locks  # noqa: PLC0415 - a first lock has no diff

    _note(render_changes(diff_locks(old, new)))


def locked(done: Locked) -> None:
    """What ``amber lock`` did."""
    lock = done.lock
    if done.imported is not None and done.checked:
        _note(f"{done.target} holds what {done.source} holds ({done.imported})")
        return
    if done.imported is not None:
        _note(
            f"Imported {done.imported} {done.source} as-is (no solve) -> {done.target} "
            f"(full_id {lock.full_id[:12]})"
        )
        return
    if done.checked:
        findings(done.findings)
        _note(f"{done.target} is up to date with {done.source}")
        return
    if done.previous is not None:
        changes(done.previous, lock)
    if done.held_back:
        date = (lock.spec.as_of or "")[:10]
        count = len(done.held_back)
        _note(
            f"The lock's as-of date {date} holds back {count} package{'s' * (count != 1)} "
            f"({', '.join(done.held_back)}): newer releases exist. Use --as-of now (or "
            "--as-of DATE) with --update to move it."
        )
    counts = ", ".join(
        f"{p}: {len(pl.conda)} conda + {len(pl.pypi)} PyPI"
        for p, pl in sorted(lock.platforms.items())
    )
    _note(f"Locked {counts} -> {done.target} (full_id {lock.full_id[:12]})")
    local = lock.local_projects()
    if local:
        editable = [p for p in local if p.editable]
        for what, entries in (
            ("editable", editable),
            ("local", [p for p in local if not p.editable]),
        ):
            if entries:
                paths = ", ".join(p.path or "" for p in entries)
                n = len(entries)
                _note(
                    f"{n} {what} package{'s' * (n != 1)} from {paths}, not hashed (the lock "
                    "records the path, relative to the spec file's folder)"
                )


def findings(found: Sequence[Finding], *, as_json: bool = False, err: bool = True) -> None:
    """The policy's findings: one line each (waived ones marked; on stderr beside another
    command's result, ``err``), or JSON."""
    if as_json:
        click.echo(json.dumps([f.to_json() for f in found], indent=2, sort_keys=True))
        return
    for f in found:
        label = "waived" if f.waived_by is not None else f.severity
        extra = f" (waived: {f.waived_by})" if f.waived_by is not None else ""
        click.echo(f"{label}: [{f.rule}] {f.message}{extra}", err=err)


def added(requirement: str, path: Path, target: Path, previous: Lock | None, lock: Lock) -> None:
    """What ``amber add`` changed."""
    if previous is not None:
        changes(previous, lock)
    _note(f"Added {requirement} to {path}; locked -> {target}")


def diff(found: Sequence[Change], as_json: bool) -> None:
    """``amber diff``: JSON, or a table (coloured on a terminal)."""
    if as_json:
        _json(changes_to_json(found))
    else:
        print_changes(found)


def diff_markdown(rows: Sequence[Row]) -> str:
    """``amber diff --format markdown``: pixi-diff-to-markdown's table, the requested
    packages apart from the transitive ones, a change on every platform collapsed."""
    if not rows:
        return _NO_CHANGES
    parts = []
    for title, requested in (("Requested packages", True), ("Transitive packages", False)):
        chosen = [r for r in rows if r.requested == requested]
        if not chosen:
            continue
        lines = [f"### {title}", "", "|Package|Before|After|Change|Kind|Platforms|"]
        lines.append("|-|-|-|-|-|-|")
        for r in chosen:
            where = ", ".join(r.platforms) or "*all platforms*"
            cells = (r.name, r.before, r.after, r.change, r.kind, where)
            lines.append("|" + "|".join(c.replace("|", "\\|") for c in cells) + "|")
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def print_diff_markdown(rows: Sequence[Row]) -> None:
    click.echo(diff_markdown(rows))


# -- tree, why --------------------------------------------------------------------------


def _label(node: Node, mixed: bool, prefix: str = "v") -> str:
    """``numpy v1.26.4``; ``[pypi]`` after a PyPI package of an env that has conda ones."""
    if node.kind == "absent":
        return f"{node.name} (not in the lock)"
    text = f"{node.name} {prefix}{node.version}" if node.version else node.name
    return f"{text} [pypi]" if mixed and node.kind == "pypi" else text


def tree_lines(branches: Sequence[Branch], mixed: bool, *, inverted: bool = False) -> list[str]:
    """The lines of a tree as ``pixi tree`` draws it: the requested packages under
    connectors (inverted: the package itself at the margin), ``(*)`` where a package shown
    above is not expanded again."""
    lines: list[str] = []

    def walk(branch: Branch, lead: str, connector: str) -> None:
        mark = " (*)" if branch.repeated else ""
        lines.append(f"{lead}{connector}{_label(branch.node, mixed)}{mark}")
        below = lead + ("" if not connector else "    " if connector == "└── " else "│   ")
        for i, child in enumerate(branch.children):
            walk(child, below, "└── " if i == len(branch.children) - 1 else "├── ")

    for i, branch in enumerate(branches):
        last = i == len(branches) - 1
        walk(branch, "", "" if inverted else ("└── " if last else "├── "))
    return lines


def dependency_tree(g: Graph, branches: Sequence[Branch], as_json: bool, inverted: bool) -> None:
    """``amber tree``: the tree (or JSON), and on stderr what the lock does not record."""
    if as_json:
        _json(views.dependency_tree(g, branches, inverted))
    else:
        for line in tree_lines(branches, g.mixed, inverted=inverted):
            click.echo(line)
    _unrecorded(g)


def _unrecorded(g: Graph) -> None:
    if g.unrecorded:
        n = len(g.unrecorded)
        _note(
            f"This lock does not record what its {n} PyPI package{'s' * (n != 1)} depend on "
            "(it was written before amber recorded it, or imported from another format): "
            "`amber lock` again to see them"
        )


def chain_line(chain: Chain, mixed: bool) -> str:
    """``numpy 1.26.4 <- pandas 2.2.1 <- requested: pandas>=2``."""
    parts = [_label(n, mixed, prefix="") for n in chain.nodes]
    return " <- ".join([*parts, f"requested: {chain.requested}"])


def why(g: Graph, name: str, chains: Sequence[Chain], as_json: bool) -> None:
    """``amber why``: one line per chain, shortest first (or JSON)."""
    if as_json:
        _json(views.why(g, name, chains))
    else:
        for chain in chains:
            click.echo(chain_line(chain, g.mixed))
        if not chains:
            found = ", ".join(_label(g.nodes[k], g.mixed, prefix="") for k in g.named(name))
            _note(f"{found} is in the lock for {g.platform}, but no requested package needs it")
    _unrecorded(g)


# -- envs -----------------------------------------------------------------------------


def paths(envs: Sequence[Env]) -> None:
    """One env path per line: what ``install``, ``pull`` and ``env get`` print."""
    for env in envs:
        click.echo(str(env.path))


def env_list(rows: Sequence[EnvRecord], as_json: bool) -> None:
    """``amber env list``: a table (one line per env in pipes and logs), or JSON."""
    if as_json:
        _json([views.env_record(e) for e in rows])
        return
    if not rows:
        _note("No environments yet: `amber install -f environment.yml` makes one.")
        return
    from rich.console import Console  # noqa: PLC0415 - rich only for the commands that draw
    from rich.table import Table  # noqa: PLC0415 - rich only for the commands that draw

    table = Table(box=None, pad_edge=False)
    for column in ("ID", "NAME", "SIZE", "CREATED", "LAST USED", "PATH"):
        table.add_column(column, justify="right" if column == "SIZE" else "left")
    for e in rows:
        table.add_row(
            e.full_id[:12], e.name or "-", human_bytes(e.size), when(e.created),
            when(e.last_used), str(e.path),
        )  # fmt: skip
    console = Console()
    if not console.is_terminal:
        console = Console(width=400)  # pipes and logs: one line per env
    console.print(table)


def env_show(details: EnvDetails, as_json: bool) -> None:
    """``amber env show``: the env, its spec, packages and activation."""
    env, lock, record = details.env, details.lock, details.record
    if as_json:
        _json(views.env_details(details))
        return
    click.echo(f"full_id:  {env.full_id}")
    click.echo(f"req_id:   {lock.req_id}")
    click.echo(f"name:     {(record.name if record else None) or '-'}")
    click.echo(f"path:     {env.path}")
    click.echo(f"size:     {human_bytes(record.size if record else None)}")
    click.echo(
        f"created:  {when(record.created if record else None)}    "
        f"last used: {when(record.last_used if record else None)}"
    )
    for added in lock.spec.added:
        click.echo(f"added:    {added} (by amber: pipeline steps need it)")
    for script in details.activation.scripts:
        click.echo(f"activate: {script} (sourced at each activation)")
    for name, value in lock.spec.variables:
        click.echo(f"variable: {name}={value} (environment.yml variables:, set at run time)")
    for platform, body in sorted(lock.platforms.items()):
        click.echo(f"\n{platform} (python {body.python or '-'})")
        for c in sorted(body.conda, key=lambda c: c.name):
            click.echo(f"  conda  {c.name:<28} {c.version:<14} {c.build}")
        for p in sorted(body.pypi, key=lambda p: p.name):
            where = f" ({'editable ' if p.editable else ''}{p.path})" if p.path else ""
            click.echo(f"  pypi   {p.name:<28} {p.version}{where}")
        for dist, conda_name in sorted(body.provided.items()):
            if dist != conda_name:
                click.echo(f"  (PyPI {dist} is provided by conda {conda_name})")


def shell_hook(text: str) -> None:
    """``amber shell-hook``: the script, as is, for the caller's shell to evaluate."""
    click.echo(text, nl=False)


def removed_env(env: Env) -> None:
    """``amber env rm``: one line per env removed."""
    _note(f"Removed {env.full_id[:12]} ({env.path})")


def tagged(name: str, tag: str, env: Env) -> None:
    """``amber env tag``."""
    _note(f"{name}:{tag} -> {env.full_id[:12]}")


def untagged(name: str, tag: str) -> None:
    """``amber env untag``."""
    _note(f"Removed tag {name}:{tag}")


def tagged_lock(name: str, tag: str, full_id: str) -> None:
    """``amber lock --tag``."""
    _note(f"{name}:{tag} -> {full_id[:12]} (hydrated on first use)")


def env_tags(rows: Sequence[TagRecord], sizes: Mapping[str, int], as_json: bool) -> None:
    """``amber env tags``: name, tag, env, size (of an env hydrated here), who, when."""
    if not rows and not as_json:
        _note("No tags: `amber env tag ENV NAME[:TAG]` or `amber lock --tag NAME[:TAG]` names one.")
        return
    if as_json:
        _json(views.local_tags(rows, sizes))
        return
    _table(
        ("NAME", "TAG", "ENV", "SIZE", "BY", "WHEN"),
        [
            (t.name, t.tag, t.full_id[:12], _size(sizes.get(t.full_id)),
             t.author or "unknown", when(t.created)) for t in rows
        ],
    )  # fmt: skip


def _size(size: int | None) -> str:
    return human_bytes(size) if size is not None else "-"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Columns padded to their widest cell (the last one is not), header first."""
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header) - 1)]
    for row in (header, *rows):
        cells = [c.ljust(w) for c, w in zip(row, widths, strict=False)]
        click.echo("  ".join([*cells, row[-1]]).rstrip())


def verified(done: Verified, as_json: bool) -> None:
    """``amber verify``: one line per difference (or JSON); on success a summary on stderr."""
    result = done.result
    if done.repaired is not None and not as_json:
        for line in done.repaired.lines():
            _note(f"repaired: {line}")
    if as_json:
        _json({**result.to_json(), "repaired": done.repaired.to_json() if done.repaired else None})
    else:
        for line in result.lines():
            click.echo(line)
    if not as_json:
        for name, source in result.skipped:
            _note(
                f"skipped the source tree of {name} (an editable install of {source}, outside "
                "the env: edits there are the point); its .pth and dist-info are checked"
            )
    if result.ok and not as_json:
        _note(f"{done.env.full_id[:12]} ok: {result.checked} files checked")


def audited(report: AuditReport, fmt: str, sarif: dict[str, Any] | None = None) -> None:
    """``amber audit``: a table grouped by package (each finding under its package), the
    report as JSON, or the SARIF log; a summary on stderr."""
    if fmt == "json":
        _json(report.to_json())
    elif fmt == "sarif":
        _json(sarif)
    else:
        by_package: dict[tuple[str, str, str], list[Any]] = {}
        for f in report.findings:
            by_package.setdefault((f.kind, f.package, f.version), []).append(f)
        rows = [(p.name, p.version, p.kind, p.license or "unknown") for p in report.packages]
        widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in
                  enumerate(("PACKAGE", "VERSION", "KIND", "LICENSE"))]  # fmt: skip
        header = ("PACKAGE", "VERSION", "KIND", "LICENSE", "FINDINGS")
        click.echo(
            "  ".join(h.ljust(w) for h, w in zip(header, [*widths, 0], strict=True)).rstrip()
        )
        for p, row in zip(report.packages, rows, strict=True):
            found = by_package.get((p.kind, p.name, p.version), [])
            cells = [c.ljust(w) for c, w in zip(row, widths, strict=True)]
            click.echo("  ".join([*cells, str(len(found)) if found else "-"]).rstrip())
            for f in found:
                d = dict(f.details)
                state = "waived" if f.waived_by is not None else f.severity
                ident = f.rule.split(":", 1)[-1]
                level = " ".join(x for x in (d.get("level", ""), d.get("cvss", "")) if x)
                fixed = f"fixed in {d['fixed']}" if d.get("fixed") else "no fix"
                via = f" via {d['through']}" if d.get("through") else ""
                text = f.reason or f.message
                text = text if len(text) <= 90 else text[:89].rstrip() + "…"
                click.echo(
                    clip_lines(f"    {state:<7} {ident:<20} {level:<13} {fixed}{via}: {text}")
                )
    vulns = [f for f in report.findings if f.rule.startswith("vulnerability:")]
    blocking = sum(f.blocking for f in report.findings)
    unknown = sum(p.license is None for p in report.packages)
    _note(
        f"{len(report.packages)} packages, {len(vulns)} vulnerabilities ({blocking} at or above "
        f"--fail-on {report.fail_on}), {unknown} with an unknown license; advisories: "
        f"{report.source}"
    )


# -- store ----------------------------------------------------------------------------


def du(usage: Usage, as_json: bool) -> None:
    """``amber du``: per env its apparent and unique bytes, caches, total."""
    if as_json:
        _json(usage.to_json())
        return
    click.echo(f"{'ENV':<13} {'NAME':<20} {'APPARENT':>10} {'UNIQUE':>10}")
    for e in usage.envs:
        click.echo(
            f"{e.full_id[:12]:<13} {(e.name or '-'):<20} {human_bytes(e.apparent):>10} "
            f"{human_bytes(e.unique):>10}" + (f"  (at {e.path})" if e.prefix else "")
        )
    caches = ", ".join(f"{k} {human_bytes(v)}" for k, v in usage.caches.items())
    click.echo(f"caches: {caches} ({human_bytes(usage.caches_total)})")
    click.echo(f"total: {human_bytes(usage.total)}   (every file counted once)")


def gc(report: GcReport, dry_run: bool, as_json: bool) -> None:
    """``amber gc``: what was (or would be) removed and kept, and the bytes freed."""
    if as_json:
        _json(report.to_json())
        return
    verb = "Would remove" if dry_run else "Removed"
    for env in report.removed_envs:
        _note(f"{verb} env {env.full_id[:12]} ({env.path}): {human_bytes(env.bytes_freed)} freed")
    reasons = {"tagged": "tagged", "in use": "in use", "recent": "recent", "kept": "kept",
               "prefix": "at a chosen path (--prefix; `amber env rm` removes them)"}  # fmt: skip
    kept = ", ".join(f"{len(report.kept(r))} {w}" for r, w in reasons.items() if report.kept(r))
    if kept:
        _note(f"Kept {kept}")
    if report.removed_cache:
        _note(
            f"{verb} {len(report.removed_cache)} cache entries: "
            f"{human_bytes(report.cache_bytes)} freed"
        )
    if report.uv_prune:
        _note(f"uv cache: {report.uv_prune}")
    for note in report.notes:
        _note(f"note: {note}")
    _note(f"{'Would free' if dry_run else 'Freed'} {human_bytes(report.bytes_freed)} in all")


# -- remote ---------------------------------------------------------------------------


def pushed(done: Pushed) -> None:
    """What ``amber push`` uploaded and found already there."""
    result = done.result
    _note(
        f"Pushed {done.lock.full_id[:12]}: {result.uploaded} packages uploaded "
        f"({human_bytes(result.uploaded_bytes)}), {result.present} already there, lock "
        f"{'uploaded' if result.lock_uploaded else 'already there'}"
        + (f", tags {', '.join(result.tags)}" if result.tags else "")
    )


def remote_tags(tags: Sequence[TagInfo], as_json: bool) -> None:
    """``amber remote ls``: name, tag, env, who pushed the tag (user and host), when."""
    if not tags and not as_json:
        _note("No tags in the remote store (under that name): `amber push ENV --tag NAME:TAG`.")
        return
    if as_json:
        _json(views.remote_tags(tags))
        return
    _table(
        ("NAME", "TAG", "ENV", "BY", "WHEN"),
        [
            (t.name, t.tag, t.full_id[:12], t.author or (f"?@{t.host}" if t.host else "unknown"),
             when(t.pushed_at) if t.pushed_at else "unknown") for t in tags
        ],
    )  # fmt: skip


def remote_gc(result: GcResult) -> None:
    """``amber remote gc``."""
    verb = "Would delete" if result.dry_run else "Deleted"
    _note(
        f"{verb} {len(result.locks)} locks, {len(result.packages)} packages, "
        f"{len(result.tags)} tags ({human_bytes(result.freed_bytes)}); "
        f"kept {result.kept_locks} locks"
    )


# -- pack, unpack, export, import ---------------------------------------------------------


def bundled(info: BundleInfo, output: Path) -> None:
    """What ``amber pack --packages`` put in the bundle."""
    _note(
        f"{output}: {len(info.envs)} env(s), {info.packages} packages for "
        f"{', '.join(info.platforms)} ({human_bytes(info.bytes)})"
    )


def packed(result: PackResult, output: Path) -> None:
    """What ``amber pack`` put in the archive."""
    _note(
        f"{output}: {result.files} entries, {human_bytes(result.bytes)} packed into "
        f"{human_bytes(result.archive_bytes)}; {result.relocatable} files embed the prefix"
    )


def unpacked(dest: Path, rewritten: int, quiet: bool) -> None:
    """``amber unpack``: the env's new path, and how many files now name it."""
    click.echo(str(dest))
    if not quiet:
        _note(f"{rewritten} files rewritten for the new prefix")


def exported(done: Written, fmt: str) -> None:
    """``amber export``: the text on stdout, or the files written; what the format lost."""
    for target in done.files:
        _note(f"Wrote {target}")
    if not done.files:
        click.echo(done.text, nl=not done.text.endswith("\n"))
    for line in done.lost:
        _note(f"note ({fmt}): {line}")


def adopted(done: AdoptedFiles, quiet: bool) -> None:
    """``amber import``: its warnings, then (unless quiet) what was adopted and written."""
    for warning in done.adopted.warnings:
        _note(f"warning: {warning}")
    if quiet:
        return
    lock = done.adopted.lock
    body = next(iter(lock.platforms.values()))
    _note(
        f"Adopted {done.adopted.prefix}: {len(body.conda)} conda + {len(body.pypi)} PyPI "
        f"packages (requested specs from {done.adopted.requested_from}).\n"
        f"Wrote {done.spec_path} and {done.lock_path}; re-create it with "
        f"`amber install -f {done.spec_path}`"
    )


# -- runs, steps, kernels ---------------------------------------------------------------


def runs(found: Runs, as_json: bool) -> None:
    """``amber runs list``, newest first; runs only the remote store has are marked so."""
    if found.note:
        _note(f"note: {found.note}")
    rows = found.records
    if as_json:
        _json([views.run_record(r, r.run_id in found.remote) for r in rows])
        return
    if not rows:
        _note("No runs yet: calling an @amber.step function records one.")
        return
    for r in rows:
        failed = sum(s.status != "ok" for s in r.steps)
        state = f"{failed} failed" if failed else "ok"
        where = "remote" if r.run_id in found.remote else "local"
        click.echo(
            f"{r.run_id}  {when(r.started)}  {r.host:<16} {where:<6} {len(r.steps):>3} steps  "
            f"{state:<9}  {r.command}"
        )


def run(record: RunRecord, as_json: bool, *, remote: bool = False) -> None:
    """``amber runs show``: a run's step calls and the env each ran in."""
    if as_json:
        _json(views.run_record(record, remote))
        return
    origin = " (from the remote store)" if remote else ""
    click.echo(
        f"run {record.run_id} on {record.host}, {when(record.started)}{origin}: {record.command}"
    )
    for s in record.steps:
        click.echo(f"  {s.step:<24} {s.full_id[:12]}  {s.ended - s.started:7.2f}s  {s.status}")
        if s.traceback:  # why it failed, as the caller saw it
            click.echo(clip_lines("\n".join("      " + line for line in s.traceback.splitlines())))


def steps(rows: Sequence[StepRow], module: Path, as_json: bool) -> None:
    """``amber steps``: each step with its env ids and whether it is hydrated."""
    if as_json:
        _json([asdict(row) for row in rows])
        return
    if not rows:
        _note(f"No @amber.step functions in {module}.")
        return
    for row in rows:
        full = (row.full_id or "not locked")[:12]
        state = "hydrated" if row.hydrated else "not hydrated"
        req = (row.req_id or "-")[:12]  # None: the step runs in an existing env (env=...)
        click.echo(f"{row.step:<24} req_id {req:<12}  full_id {full:<12}  {state}")


def kernels(found: Sequence[Kernel], as_json: bool) -> None:
    """``amber kernel list``."""
    if as_json:
        _json([
            {
                "name": k.name,
                "display_name": k.display_name,
                "full_id": k.full_id,
                "path": str(k.path),
                "env_exists": k.env_exists(),
            }  # fmt: skip
            for k in found
        ])  # fmt: skip
        return
    for k in found:
        state = "" if k.env_exists() else "  (env removed: `amber env get` or re-install)"
        click.echo(f"{k.name:<28} {k.full_id[:12]}  {k.display_name}{state}")


def kernel_installed(path: Path) -> None:
    """``amber kernel install``: the kernelspec written."""
    _note(f"Installed kernel {path.name} ({path})")


def kernel_removed(name: str, path: Path) -> None:
    """``amber kernel rm``: the kernelspec removed."""
    _note(f"Removed kernel {name} ({path})")


# -- change tables (amber lock, add, diff) ------------------------------------------

_NO_CHANGES = "No changes."
_STYLES = {"added": "green", "removed": "red", "updated": "yellow", "rebuilt": "cyan"}


def changes_to_json(changes: Sequence[Change]) -> list[dict[str, Any]]:
    """One JSON-ready dict per change, with its ``action``."""
    return views.changes(changes)


def summary(changes: Sequence[Change]) -> str:
    """One line: ``"3 changes: 2 updated, 1 added"``, or ``"No changes."``."""
    if not changes:
        return _NO_CHANGES
    from amber.inspect.diff import ACTIONS  # noqa: PLC0415 - see changes()

    counts = {action: sum(c.action == action for c in changes) for action in ACTIONS}
    parts = ", ".join(f"{n} {action}" for action, n in counts.items() if n)
    return f"{len(changes)} change{'s' if len(changes) != 1 else ''}: {parts}"


def _rows(changes: Sequence[Change], arrow: str) -> list[tuple[str, str, str, str, str]]:
    return [(c.name, c.kind, c.platform, c.arrow(arrow), c.action) for c in changes]


_HEADERS = ("PACKAGE", "KIND", "PLATFORM", "CHANGE", "ACTION")


def render_changes(changes: Sequence[Change], *, title: str | None = None) -> str:
    """A plain-text table (for logs and pipes), or ``"No changes."``; no trailing newline."""
    lines = [title] if title else []
    if not changes:
        return "\n".join([*lines, _NO_CHANGES])
    rows = [_HEADERS, *_rows(changes, "->")]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_HEADERS))]
    for row in rows:
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    lines.append(summary(changes))
    return "\n".join(lines)


def print_changes(
    changes: Sequence[Change], console: Any = None, *, title: str | None = None
) -> None:
    """Print ``changes``: a coloured table on a terminal, ``render_changes`` text otherwise."""
    from rich.console import Console  # noqa: PLC0415 - rich only when drawing
    from rich.table import Table  # noqa: PLC0415 - rich only when drawing
    from rich.text import Text  # noqa: PLC0415 - rich only when drawing

    console = console or Console()
    if not console.is_terminal:
        console.file.write(render_changes(changes, title=title) + "\n")
        return
    if title:
        console.print(title, markup=False, highlight=False)
    if not changes:
        console.print(_NO_CHANGES, highlight=False)
        return

    table = Table(box=None, pad_edge=False)
    for header in _HEADERS:
        table.add_column(header)
    for *cells, action in _rows(changes, "→"):
        table.add_row(*(Text(c) for c in cells), Text(action, style=_STYLES[action]))
    console.print(table)
    console.print(summary(changes), highlight=False)


# -- config ---------------------------------------------------------------------------


def settings(rows: Sequence[Setting], as_json: bool) -> None:
    """``amber config list/get``: each setting, its value and where it came from."""
    if as_json:
        _json([{"key": r.key, "value": r.value, "origin": r.origin} for r in rows])
        return
    for r in rows:
        value = "(not set)" if r.value is None else json.dumps(r.value)
        click.echo(f"{r.key} = {value}")
        click.echo(f"    from {r.origin}")


def setting_written(path: Path, key: str) -> None:
    _note(f"set {key} in {path}")


# -- ui, report -----------------------------------------------------------------------


def serving(url: str, allow_writes: bool) -> None:
    """``amber ui``: where the dashboard is (stdout: a script may read it)."""
    click.echo(f"Amber dashboard: {url}", nl=True)
    mode = "writes allowed (--allow-writes)" if allow_writes else "read-only"
    _note(f"{mode}; Ctrl-C stops it")


def reported(path: Path) -> None:
    """``amber report``: the file written."""
    _note(f"Wrote {path}: open it in a browser (it loads nothing from the network)")
