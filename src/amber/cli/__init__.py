"""The ``amber`` command: parses arguments, calls the API, prints. Computes nothing itself."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import click

from amber.errors import AmberError

__all__ = ["main", "cli"]

_FILE_HELP = (
    "environment.yml, requirements.txt, pyproject.toml or an amber lock "
    "(default: one in the current dir)"
)


def _store() -> Any:
    from amber.store import Store

    return Store()


def _progress(quiet: bool) -> Any:
    from amber._progress import Progress

    return Progress(quiet=quiet)


def _default_file() -> Path:
    from amber.run._hotpath import DEFAULT_FILES, default_file

    found = default_file()
    if found is not None:
        return found
    raise AmberError(
        f"no spec file given and none found here ({', '.join(DEFAULT_FILES)}): pass -f FILE"
    )


def _human_size(size: int | None) -> str:
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return str(size)


def _when(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp))


file_option = click.option("-f", "--file", "file", type=click.Path(path_type=Path), help=_FILE_HELP)
quiet_option = click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
python_option = click.option(
    "--python", help="Python version of a PyPI-only env (default: the one running amber)."
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="amber-env", prog_name="amber")
def cli() -> None:
    """Amber: reproducible conda + PyPI environments.

    Resolve a spec into a hashed lock, hydrate environments from a
    content-addressed store, reuse identical ones, and run commands in them.
    The store lives in $AMBER_HOME.
    """


@cli.command("lock")
@file_option
@click.option(
    "-o", "--output", type=click.Path(path_type=Path), help="Default: amber.lock beside the spec."
)
@click.option(
    "-p", "--platform", "platforms", multiple=True, metavar="PLATFORM",
    help="Target platform (repeatable): linux-64, linux-aarch64, osx-64, osx-arm64, win-64.",
)  # fmt: skip
@click.option("--as-of", "as_of", metavar="DATE", help="Ignore anything published after DATE.")
@click.option(
    "--update", "update", multiple=True, metavar="PKG",
    help="Let only PKG (repeatable) and what it forces move; keep every other pin.",
)  # fmt: skip
@click.option(
    "--check", is_flag=True, help="Exit 1 if the lock is stale or inconsistent (no solve)."
)
@click.option("--merge", is_flag=True, help="Re-create a lock that has git conflict markers.")
@python_option
@quiet_option
def lock_cmd(
    file: Path | None,
    output: Path | None,
    platforms: tuple[str, ...],
    as_of: str | None,
    update: tuple[str, ...],
    check: bool,
    merge: bool,
    python: str | None,
    quiet: bool,
) -> None:
    """Resolve a spec into a lock file (or check, update or merge one).

    \b
      amber lock -f environment.yml -p linux-64 -p osx-arm64
      amber lock --update numpy            # only numpy (and what it forces) moves
      amber lock --check                   # CI: is amber.lock current?
      amber lock --merge                   # after a git conflict in amber.lock
    """
    from amber import api
    from amber.lock import Lock
    from amber.spec import read_spec

    if sum(map(bool, (check, merge, update))) > 1:
        raise AmberError("--check, --merge and --update go one at a time")
    path = file or _default_file()
    if _import_resolved(path, output, quiet):
        return
    spec = _with_options(read_spec(path, python=python), platforms, as_of)
    target = output or (spec.source.parent / api.LOCK_NAME)
    if check:
        api.check_lock(spec, target)
        if not quiet:
            click.echo(f"{target} is up to date with {spec.source}", err=True)
        return
    previous = None
    if merge:
        previous, result = api.merge_lock(spec, target, _store(), _progress(quiet))
    else:
        if update:
            previous = Lock.read(target) if target.is_file() else None
            spec = api.as_locked(spec, previous) if previous else spec
        result = api.lock(spec, _store(), _progress(quiet), previous=previous, update=update)
    result.write(target)
    if not quiet:
        if previous is not None:
            _show_changes(previous, result)
        counts = ", ".join(
            f"{p}: {len(pl.conda)} conda + {len(pl.pypi)} PyPI"
            for p, pl in sorted(result.platforms.items())
        )
        click.echo(f"Locked {counts} -> {target} (full_id {result.full_id[:12]})", err=True)


def _import_resolved(path: Path, output: Path | None, quiet: bool) -> bool:
    """`amber lock -f conda-lock.yml` (or explicit, pixi.lock, pylock.toml, hashed
    requirements): the lock keeps exactly their packages, no solve."""
    from amber import api, formats

    kind = formats.detect(path)
    if kind is None:
        return False
    result = formats.read_resolved(path, kind)
    target = output or path.parent / api.LOCK_NAME
    _store().save_lock(result.dumps(), result.req_id, result.full_id)
    result.write(target)
    if not quiet:
        click.echo(
            f"Imported {kind} {path} as-is (no solve) -> {target} (full_id {result.full_id[:12]})",
            err=True,
        )
    return True


def _with_options(spec: Any, platforms: tuple[str, ...], as_of: str | None) -> Any:
    if platforms:
        spec = spec.with_platforms(platforms)
    if as_of:
        spec = spec.with_as_of(as_of)
    return spec


def _show_changes(old: Any, new: Any) -> None:
    """The change table between two locks, on stderr (progress and reports go there)."""
    try:
        from amber.inspect.diff import diff_locks, render_changes
    except ImportError:  # the diff module lands separately
        return
    click.echo(render_changes(diff_locks(old, new)), err=True)


@cli.command("merge-driver", hidden=True)
@click.argument("base", type=click.Path(exists=True, path_type=Path))
@click.argument("ours", type=click.Path(exists=True, path_type=Path))
@click.argument("theirs", type=click.Path(exists=True, path_type=Path))
def merge_driver_cmd(base: Path, ours: Path, theirs: Path) -> None:
    """git merge driver for amber.lock: `amber merge-driver %O %A %B`."""
    from amber import api

    api.merge_driver(base, ours, theirs, _store())


remote_option = click.option(
    "--remote", "remote_url", envvar="AMBER_REMOTE", metavar="URL",
    help="The remote store: s3://, gs://, az://, file:// (default: $AMBER_REMOTE).",
)  # fmt: skip


@cli.command("push")
@click.argument("ref", metavar="ENV_OR_TAG")
@click.option("-t", "--tag", "tags", multiple=True, metavar="NAME[:TAG]", help="Also tag it so.")
@remote_option
@click.option("--verify", is_flag=True, help="Re-hash what the remote already has.")
@quiet_option
def push_cmd(
    ref: str, tags: tuple[str, ...], remote_url: str | None, verify: bool, quiet: bool
) -> None:
    """Upload an env's lock and packages to the remote store, then its tags.

    \b
      amber push analysis:v1 --remote s3://team-bucket/amber
      amber push 3f2a9c1d --tag analysis:v2
    """
    from amber import api
    from amber.remote import Remote

    store = _store()
    lock = api.lock_for_ref(ref, store)
    wanted = [api.parse_tag(t) for t in tags]
    if api.resolve_ref(ref, store) is not None:
        wanted.insert(0, api.parse_tag(ref))
    result = Remote.open(remote_url).push(
        lock, store, tags=wanted, progress=_progress(quiet), mutable_tags=api.mutable_tags(),
        verify=verify,
    )  # fmt: skip
    for name, tag in wanted:
        store.tag(name, tag, lock.full_id)
    if not quiet:
        click.echo(
            f"Pushed {lock.full_id[:12]}: {result.uploaded} packages uploaded "
            f"({result.uploaded_bytes / 1e6:.1f} MB), {result.present} already there, lock "
            f"{'uploaded' if result.lock_uploaded else 'already there'}"
            + (f", tags {', '.join(result.tags)}" if result.tags else ""),
            err=True,
        )


@cli.command("pull")
@click.argument("ref", metavar="NAME[:TAG]")
@remote_option
@quiet_option
def pull_cmd(ref: str, remote_url: str | None, quiet: bool) -> None:
    """Fetch a tagged env's lock and packages from the remote store and hydrate it."""
    from amber import api

    env = api.pull(ref, _store(), _progress(quiet), url=remote_url)
    click.echo(str(env.path))


@cli.group("remote")
def remote_group() -> None:
    """The remote store's tags and garbage collection."""


@remote_group.command("ls")
@click.argument("name", required=False)
@remote_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def remote_ls(name: str | None, remote_url: str | None, as_json: bool) -> None:
    """Tags in the remote store (of NAME, or all)."""
    from amber.remote import Remote

    tags = Remote.open(remote_url).ls(name)
    if as_json:
        click.echo(json.dumps([
            {"name": t.name, "tag": t.tag, "full_id": t.full_id, "pushed_at": t.pushed_at,
             "host": t.host} for t in tags], indent=2))  # fmt: skip
        return
    for t in tags:
        click.echo(f"{t.name}:{t.tag:<20} {t.full_id[:12]}  {_when(t.pushed_at)}  {t.host}")


@remote_group.command("gc")
@remote_option
@click.option("--keep-tagged/--no-keep-tagged", default=True, show_default=True,
              help="Keep everything a tag names.")  # fmt: skip
@click.option("--keep-runs-days", default=30, show_default=True,
              help="Keep envs a run used this recently.")  # fmt: skip
@click.option("--dry-run", is_flag=True, help="Only say what would be deleted.")
def remote_gc(
    remote_url: str | None, keep_tagged: bool, keep_runs_days: int, dry_run: bool
) -> None:
    """Delete locks and packages that no tag and no recent run references."""
    from amber.remote import Remote

    result = Remote.open(remote_url).gc(
        keep_tagged=keep_tagged, keep_runs_days=keep_runs_days, dry_run=dry_run
    )
    verb = "Would delete" if dry_run else "Deleted"
    click.echo(
        f"{verb} {len(result.locks)} locks, {len(result.packages)} packages, "
        f"{len(result.tags)} tags ({_human_size(result.freed_bytes)}); "
        f"kept {result.kept_locks} locks",
        err=True,
    )


class VerifyFailed(AmberError):
    """`amber verify` found differences (exit 1)."""

    exit_code = 1


def _verify_or_fail(env: Any, as_json: bool = False) -> None:
    from amber.inspect.verify import verify_env

    result = verify_env(env)
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2))
    else:
        for line in result.lines():
            click.echo(line)
    if not result.ok:
        raise VerifyFailed(result.summary())
    if not as_json:
        click.echo(f"{env.full_id[:12]} ok: {result.checked} files checked", err=True)


@cli.command("verify")
@click.argument("env_ref", metavar="ENV")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def verify_cmd(env_ref: str, as_json: bool) -> None:
    """Check every file of ENV against its packages' records; exit 1 listing differences."""
    from amber import api

    _verify_or_fail(api.find_env(env_ref, _store()), as_json)


@cli.command("du")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def du_cmd(as_json: bool) -> None:
    """Disk usage: per env its apparent size and the bytes only it holds, caches, total."""
    from amber.store.du import disk_usage, human

    usage = disk_usage(_store())
    if as_json:
        click.echo(json.dumps(usage.to_json(), indent=2))
        return
    click.echo(f"{'ENV':<13} {'NAME':<20} {'APPARENT':>10} {'UNIQUE':>10}")
    for e in usage.envs:
        click.echo(
            f"{e.full_id[:12]:<13} {(e.name or '-'):<20} {human(e.apparent):>10} "
            f"{human(e.unique):>10}"
        )
    caches = ", ".join(f"{k} {human(v)}" for k, v in usage.caches.items())
    click.echo(f"caches: {caches} ({human(usage.caches_total)})")
    click.echo(f"total: {human(usage.total)}   (every file counted once)")


@cli.command("gc")
@click.option("--older-than", default="30d", show_default=True, metavar="AGE",
              help="Remove envs not used for AGE (e.g. 30d, 12h).")  # fmt: skip
@click.option("--keep", type=int, help="Always keep the N most recently used envs.")
@click.option("--dry-run", is_flag=True, help="Only say what would be removed.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def gc_cmd(older_than: str, keep: int | None, dry_run: bool, as_json: bool) -> None:
    """Remove unused, untagged envs, then cache entries nothing needs; print what it frees.

    An env a running process uses, and a tagged env, are never removed.
    """
    from amber.store.gc import collect

    report = collect(_store(), older_than=_duration(older_than), keep=keep, dry_run=dry_run)
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2))
        return
    verb = "Would remove" if dry_run else "Removed"
    for env in report.removed_envs:
        click.echo(f"{verb} env {env.full_id[:12]} ({env.path}): "
                   f"{_human_size(env.bytes_freed)} freed", err=True)  # fmt: skip
    reasons = ("tagged", "in use", "recent", "kept")
    kept = ", ".join(f"{len(report.kept(r))} {r}" for r in reasons if report.kept(r))
    if kept:
        click.echo(f"Kept {kept}", err=True)
    if report.removed_cache:
        click.echo(f"{verb} {len(report.removed_cache)} cache entries: "
                   f"{_human_size(report.cache_bytes)} freed", err=True)  # fmt: skip
    if report.uv_prune:
        click.echo(f"uv cache: {report.uv_prune}", err=True)
    for note in report.notes:
        click.echo(f"note: {note}", err=True)
    click.echo(f"{'Would free' if dry_run else 'Freed'} {_human_size(report.bytes_freed)} in all",
               err=True)  # fmt: skip


@cli.command("add")
@click.argument("requirement")
@file_option
@click.option("--pypi", is_flag=True, help="A PyPI requirement (default: a conda match spec).")
@python_option
@quiet_option
def add_cmd(
    requirement: str, file: Path | None, pypi: bool, python: str | None, quiet: bool
) -> None:
    """Add REQUIREMENT to the spec file and its lock, moving as little as possible.

    \b
      amber add "numpy>=1.26"
      amber add --pypi "rich>=13"
    """
    from amber import api

    path = file or _default_file()
    previous, result, target = api.add(path, requirement, pypi=pypi, python=python,
                                       store=_store(), progress=_progress(quiet))  # fmt: skip
    if not quiet:
        if previous is not None:
            _show_changes(previous, result)
        click.echo(f"Added {requirement} to {path}; locked -> {target}", err=True)


@cli.command("export")
@click.argument("ref", metavar="ENV_OR_LOCK")
@click.option(
    "--format", "fmt", required=True, metavar="FORMAT",
    help="environment.yml, explicit, conda-lock, pixi, requirements, pylock or cyclonedx.",
)  # fmt: skip
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Default: standard output.")
@click.option("-p", "--platform", "platforms", multiple=True, metavar="PLATFORM",
              help="Only this platform (repeatable).")  # fmt: skip
@click.option("--no-builds", is_flag=True, help="environment.yml: pins without build strings.")
@click.option("--from-history", is_flag=True, help="environment.yml: your own spec, not the pins.")
def export_cmd(
    ref: str,
    fmt: str,
    output: Path | None,
    platforms: tuple[str, ...],
    no_builds: bool,
    from_history: bool,
) -> None:
    """Write an env or lock in another tool's format; say on stderr what it cannot carry.

    \b
      amber export amber.lock --format conda-lock -o conda-lock.yml
      amber export 3f2a9c1d --format explicit -p linux-64 -o linux-64.txt
      amber export amber.lock --format cyclonedx -o sbom.cdx.json
    """
    from amber import api, formats
    from amber._fs import write_atomic

    module = formats.get(fmt)
    lock = api.lock_of(ref, _store())
    options = formats.ExportOptions(
        platforms=platforms, no_builds=no_builds, from_history=from_history
    )
    exported = module.export(lock, options)
    if exported.files:
        if output is None:
            raise AmberError(
                f"{fmt} holds one platform per file and the lock has several "
                f"({', '.join(exported.files)}): give -o FILE (one file per platform is "
                "written beside it) or --platform"
            )
        stem = output.name.removesuffix(module.SUFFIX) if module.SUFFIX else output.stem
        for platform, text in sorted(exported.files.items()):
            target = output.with_name(f"{stem}-{platform}{module.SUFFIX}")
            write_atomic(target, text)
            click.echo(f"Wrote {target}", err=True)
    elif output is not None:
        write_atomic(output, exported.text)
        click.echo(f"Wrote {output}", err=True)
    else:
        click.echo(exported.text, nl=not exported.text.endswith("\n"))
    for line in exported.lost:
        click.echo(f"note ({fmt}): {line}", err=True)


@cli.command("import")
@click.option("--prefix", "prefix", required=True, type=click.Path(path_type=Path),
              help="An existing conda environment to adopt.")  # fmt: skip
@click.option("-o", "--output", type=click.Path(path_type=Path), default=Path("."),
              show_default=True, help="Where to write environment.yml and amber.lock.")  # fmt: skip
@click.option("--force", is_flag=True, help="Overwrite environment.yml/amber.lock there.")
@click.option("--index-url", help="Where the env's pip packages come from (default: PyPI).")
@quiet_option
def import_cmd(prefix: Path, output: Path, force: bool, index_url: str | None, quiet: bool) -> None:
    """Adopt an existing conda environment: a spec (what was asked for) and a lock (what
    is installed, conda and pip), so it can be re-created anywhere."""
    from amber.inspect.adopt import adopt_prefix, write_adopted

    store = _store()
    adopted = adopt_prefix(prefix, store=store, index_url=index_url, progress=_progress(quiet))
    for warning in adopted.warnings:
        click.echo(f"warning: {warning}", err=True)
    spec_path, lock_path = write_adopted(adopted, output, overwrite=force)
    lock = adopted.lock
    store.save_lock(lock.dumps(), lock.req_id, lock.full_id)
    if not quiet:
        body = next(iter(lock.platforms.values()))
        click.echo(
            f"Adopted {prefix}: {len(body.conda)} conda + {len(body.pypi)} PyPI packages "
            f"(requested specs from {adopted.requested_from}).\n"
            f"Wrote {spec_path} and {lock_path}; re-create it with "
            f"`amber install -f {spec_path}`",
            err=True,
        )


@cli.group("kernel")
def kernel_group() -> None:
    """Jupyter kernels that start inside an env."""


@kernel_group.command("install")
@click.argument("env_ref", metavar="ENV")
@click.option("--name", help="Kernel name (default: amber-<id>).")
@click.option("--display-name", help="What Jupyter shows.")
@click.option("--sys-prefix", is_flag=True, help="Into this Python's prefix, not the user dir.")
def kernel_install(
    env_ref: str, name: str | None, display_name: str | None, sys_prefix: bool
) -> None:
    """Register a Jupyter kernel running in ENV (which must contain ipykernel)."""
    from amber import api
    from amber.run.kernel import install_kernel

    store = _store()
    path = install_kernel(
        api.find_env(env_ref, store), name, display_name, user=not sys_prefix, store=store
    )
    click.echo(f"Installed kernel {path.name} ({path})", err=True)


@kernel_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def kernel_list(as_json: bool) -> None:
    """The kernels Amber registered."""
    from amber.run.kernel import list_kernels

    kernels = list_kernels()
    if as_json:
        rows = [
            {
                "name": k.name,
                "display_name": k.display_name,
                "full_id": k.full_id,
                "path": str(k.path),
                "env_exists": k.env_exists(),
            }  # fmt: skip
            for k in kernels
        ]
        click.echo(json.dumps(rows, indent=2))
        return
    for k in kernels:
        state = "" if k.env_exists() else "  (env removed: `amber env get` or re-install)"
        click.echo(f"{k.name:<28} {k.full_id[:12]}  {k.display_name}{state}")


@kernel_group.command("rm")
@click.argument("name")
def kernel_rm(name: str) -> None:
    """Remove a kernel Amber registered."""
    from amber.run.kernel import remove_kernel

    click.echo(f"Removed kernel {name} ({remove_kernel(name)})", err=True)


@cli.command("diff")
@click.argument("old", metavar="A")
@click.argument("new", metavar="B")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def diff_cmd(old: str, new: str, as_json: bool) -> None:
    """What changed from A to B: two lock files or envs (full_id, prefix or name)."""
    from amber import api
    from amber.inspect.diff import changes_to_json, diff_locks, print_changes

    changes = diff_locks(api.lock_of(old, _store()), api.lock_of(new, _store()))
    if as_json:
        click.echo(json.dumps(changes_to_json(changes), indent=2))
    else:
        print_changes(changes)


@cli.command("install")
@click.argument("source", required=False, type=click.Path(path_type=Path), metavar="[FILE]")
@file_option
@python_option
@quiet_option
def install_cmd(source: Path | None, file: Path | None, python: str | None, quiet: bool) -> None:
    """Hydrate the env of a spec, a lock or a bundle (or reuse it); prints its path.

    \b
      amber install -f environment.yml
      amber install bundle.tar        # made by `amber pack --packages`: no network needed
    """
    from amber import api
    from amber.run import _hotpath

    if source is not None and file is not None:
        raise click.UsageError("give the file once: FILE or -f FILE")
    path = source or file or _default_file()
    if _hotpath.is_bundle(path):
        for env in api.install_bundle(path, _store(), _progress(quiet)):
            click.echo(str(env.path))
        return
    env = api.env_for_file(path, _store(), _progress(quiet), python=python)
    click.echo(str(env.path))


@cli.command("pack")
@click.argument("env_refs", nargs=-1, required=True, metavar="ENV...")
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(path_type=Path),
    help="The archive: .tar.zst, .tar.gz, .tar.bz2, .tar or .zip (a bundle: .tar).",
)
@click.option(
    "--packages",
    is_flag=True,
    help="A bundle of the locks and every package archive, for `amber install`.",
)
@click.option(
    "-p",
    "--platform",
    "platforms",
    multiple=True,
    metavar="PLATFORM",
    help="--packages: include this platform's packages (default: this machine's).",
)
@quiet_option
def pack_cmd(
    env_refs: tuple[str, ...], output: Path, packages: bool, platforms: tuple[str, ...],
    quiet: bool,
) -> None:  # fmt: skip
    """Ship envs to machines without an index: a relocatable archive, or a bundle.

    \b
      amber pack ENV -o env.tar.zst              # then: amber unpack env.tar.zst /opt/env
      amber pack --packages ENV... -o bundle.tar # then: amber install bundle.tar
    """
    from amber import api

    store, progress = _store(), _progress(quiet)
    if packages:
        from amber._platform import host_platform
        from amber.ship.bundle import write_bundle

        locks = [api.lock_for_ref(ref, store) for ref in env_refs]
        info = write_bundle(locks, platforms or (host_platform(),), store, output, progress)
        if not quiet:
            click.echo(
                f"{output}: {len(info.envs)} env(s), {info.packages} packages for "
                f"{', '.join(info.platforms)} ({_human_size(info.bytes)})",
                err=True,
            )
        return
    if len(env_refs) > 1:
        raise click.UsageError("an env archive holds one env; several need --packages")
    if platforms:
        raise click.UsageError("--platform goes with --packages: an env archive is this machine's")
    from amber.ship.pack import pack_env

    result = pack_env(api.find_env(env_refs[0], store), output, progress)
    if not quiet:
        click.echo(
            f"{output}: {result.files} entries, {_human_size(result.bytes)} packed into "
            f"{_human_size(result.archive_bytes)}; {result.relocatable} files embed the prefix",
            err=True,
        )


@cli.command("unpack")
@click.argument("archive", type=click.Path(path_type=Path))
@click.argument("dest", type=click.Path(path_type=Path))
@quiet_option
def unpack_cmd(archive: Path, dest: Path, quiet: bool) -> None:
    """Put an env made by `amber pack` into the new directory DEST, ready to run there.

    Without Amber: tar -xf ARCHIVE -C DEST && DEST/bin/amber-unpack
    """
    from amber.ship.pack import unpack

    count = unpack(archive, dest, _progress(quiet))
    click.echo(str(Path(dest).absolute()))
    if not quiet:
        click.echo(f"{count} files rewritten for the new prefix", err=True)


@cli.command(
    "run",
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
)
@file_option
@click.option("--env", "env_ref", help="An existing env: full_id, a unique prefix of one, or name.")
@click.option("--verify", "verify", is_flag=True, help="Check the env's files first (see verify).")
@python_option
@quiet_option
@click.argument("command", nargs=-1, type=click.UNPROCESSED, required=True)
def run_cmd(
    file: Path | None,
    env_ref: str | None,
    verify: bool,
    python: str | None,
    quiet: bool,
    command: tuple[str, ...],
) -> None:
    """Run COMMAND inside an env (locking and hydrating it first if needed).

    \b
      amber run -f environment.yml -- python train.py
      amber run --env 3f2a9c -- pytest
    """
    run_command(file, env_ref, python, quiet, list(command), verify=verify)


def run_command(
    file: Path | None,
    env_ref: str | None,
    python: str | None,
    quiet: bool,
    command: list[str],
    *,
    verify: bool = False,
) -> None:
    """``amber run``, shared by click and the fast path in ``main``."""
    from amber import api
    from amber.run import exec_in_env

    store = _store()
    if env_ref and file:
        raise AmberError("give either --env or -f, not both")
    if env_ref:
        env = api.find_env(env_ref, store)
    else:
        env = api.env_for_file(file or _default_file(), store, _progress(quiet), python=python)
    if verify:
        _verify_or_fail(env)
    store.touch_env(env.full_id)
    store.close()
    exec_in_env(env, command, store.env_lock_path(env.full_id))


@cli.group("env")
def env_group() -> None:
    """List, show and remove hydrated envs."""


@env_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def env_list(as_json: bool) -> None:
    """List the envs in the store, most recently used first."""
    from amber.store.env import Env

    rows = [e for e in _store().envs() if Env(e.full_id, e.path).is_complete()]
    if as_json:
        click.echo(json.dumps([_env_json(e) for e in rows], indent=2))
        return
    if not rows:
        click.echo("No environments yet: `amber install -f environment.yml` makes one.", err=True)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    for column in ("ID", "NAME", "SIZE", "CREATED", "LAST USED", "PATH"):
        table.add_column(column, justify="right" if column == "SIZE" else "left")
    for e in rows:
        table.add_row(
            e.full_id[:12], e.name or "-", _human_size(e.size), _when(e.created),
            _when(e.last_used), str(e.path),
        )  # fmt: skip
    console = Console()
    if not console.is_terminal:
        console = Console(width=400)  # pipes and logs: one line per env
    console.print(table)


def _env_json(e: Any) -> dict[str, Any]:
    return {
        "full_id": e.full_id,
        "name": e.name,
        "path": str(e.path),
        "size": e.size,
        "created": e.created,
        "last_used": e.last_used,
    }


@env_group.command("show")
@click.argument("env_ref", metavar="ENV")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def env_show(env_ref: str, as_json: bool) -> None:
    """Show an env: its spec, packages and activation."""
    from amber import api
    from amber.lock import Lock

    store = _store()
    env = api.find_env(env_ref, store)
    lock = Lock.read(env.lock_file)
    record = next(e for e in store.envs() if e.full_id == env.full_id)
    data = {
        **_env_json(record),
        "req_id": lock.req_id,
        "spec": lock.spec.canonical(),
        "activation": {
            "set": dict(env.activation().set),
            "path_prepend": list(env.activation().path_prepend),
        },
        "platforms": lock.to_dict()["platforms"],
    }
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    click.echo(f"full_id:  {env.full_id}")
    click.echo(f"req_id:   {lock.req_id}")
    click.echo(f"name:     {record.name or '-'}")
    click.echo(f"path:     {env.path}")
    click.echo(f"size:     {_human_size(record.size)}")
    click.echo(f"created:  {_when(record.created)}    last used: {_when(record.last_used)}")
    for added in lock.spec.added:
        click.echo(f"added:    {added} (by amber: pipeline steps need it)")
    for platform, body in sorted(lock.platforms.items()):
        click.echo(f"\n{platform} (python {body.python or '-'})")
        for c in sorted(body.conda, key=lambda c: c.name):
            click.echo(f"  conda  {c.name:<28} {c.version:<14} {c.build}")
        for p in sorted(body.pypi, key=lambda p: p.name):
            click.echo(f"  pypi   {p.name:<28} {p.version}")
        for dist, conda_name in sorted(body.provided.items()):
            if dist != conda_name:
                click.echo(f"  (PyPI {dist} is provided by conda {conda_name})")


@env_group.command("rm")
@click.argument("env_refs", metavar="ENV...", nargs=-1, required=True)
def env_rm(env_refs: tuple[str, ...]) -> None:
    """Remove envs (their locks stay in the store, so they can be hydrated again)."""
    from amber import api

    store = _store()
    for ref in env_refs:
        env = api.find_env(ref, store)
        api.remove_env(env, store)
        click.echo(f"Removed {env.full_id[:12]} ({env.path})", err=True)


@env_group.command("tag")
@click.argument("env_ref", metavar="ENV")
@click.argument("tag_ref", metavar="NAME[:TAG]")
def env_tag(env_ref: str, tag_ref: str) -> None:
    """Name an env: NAME:TAG (TAG defaults to latest). Only mutable tags ever move."""
    from amber import api

    store = _store()
    env = api.find_env(env_ref, store)
    name, tag = api.tag_env(env, tag_ref, store)
    click.echo(f"{name}:{tag} -> {env.full_id[:12]}", err=True)


@env_group.command("tags")
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def env_tags(name: str | None, as_json: bool) -> None:
    """List tags (of NAME, or all)."""
    rows = _store().tags(name)
    if as_json:
        keys = ("name", "tag", "full_id", "created")
        click.echo(json.dumps([dict(zip(keys, r, strict=True)) for r in rows], indent=2))
        return
    for tag_name, tag, full_id, created in rows:
        click.echo(f"{tag_name}:{tag:<20} {full_id[:12]}  {_when(created)}")


@env_group.command("untag")
@click.argument("tag_ref", metavar="NAME[:TAG]")
def env_untag(tag_ref: str) -> None:
    """Remove a local tag (the env stays)."""
    from amber import api

    name, tag = api.parse_tag(tag_ref)
    if not _store().untag(name, tag):
        raise AmberError(f"no tag {name}:{tag}: `amber env tags` lists them")
    click.echo(f"Removed tag {name}:{tag}", err=True)


@env_group.command("get")
@click.option("--run", "run_ref", required=True, help="A run id (or a unique prefix of one).")
@click.option("--step", "step_name", required=True, help="The step's name.")
@quiet_option
def env_get(run_ref: str, step_name: str, quiet: bool) -> None:
    """Re-hydrate the exact env a past step ran in; prints its path."""
    from amber import api

    env = api.env_of_step(run_ref, step_name, _store(), _progress(quiet))
    click.echo(str(env.path))


@cli.group("runs")
def runs_group() -> None:
    """Pipeline runs: which step ran in which env."""


def _run_json(run: Any) -> dict[str, Any]:
    return {
        "run_id": run.run_id,
        "started": run.started,
        "host": run.host,
        "command": run.command,
        "steps": [
            {
                "step": s.step,
                "full_id": s.full_id,
                "started": s.started,
                "ended": s.ended,
                "status": s.status,
            }  # fmt: skip
            for s in run.steps
        ],
    }


@runs_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def runs_list(as_json: bool) -> None:
    """List pipeline runs, newest first."""
    runs = _store().runs()
    if as_json:
        click.echo(json.dumps([_run_json(r) for r in runs], indent=2))
        return
    if not runs:
        click.echo("No runs yet: calling an @amber.step function records one.", err=True)
        return
    for r in runs:
        failed = sum(s.status != "ok" for s in r.steps)
        state = f"{failed} failed" if failed else "ok"
        click.echo(
            f"{r.run_id}  {_when(r.started)}  {r.host:<16} {len(r.steps):>3} steps  {state:<9}"
            f"  {r.command}"
        )


@runs_group.command("show")
@click.argument("run_ref", metavar="RUN")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def runs_show(run_ref: str, as_json: bool) -> None:
    """Show a run's step calls and the env each ran in."""
    from amber import api

    run = api.find_run(run_ref, _store())
    if as_json:
        click.echo(json.dumps(_run_json(run), indent=2))
        return
    click.echo(f"run {run.run_id} on {run.host}, {_when(run.started)}: {run.command}")
    for s in run.steps:
        click.echo(f"  {s.step:<24} {s.full_id[:12]}  {s.ended - s.started:7.2f}s  {s.status}")


@cli.command("steps")
@click.argument("module", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--prepare", "do_prepare", is_flag=True, help="Resolve and hydrate every env.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@quiet_option
def steps_cmd(module: Path, do_prepare: bool, as_json: bool, quiet: bool) -> None:
    """List the steps of a Python module with their envs (without running them)."""
    from amber.pipeline.describe import describe_steps

    rows = describe_steps(module, _store(), prepare=do_prepare, quiet=quiet)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo(f"No @amber.step functions in {module}.", err=True)
        return
    for row in rows:
        full = (row["full_id"] or "not locked")[:12]
        state = "hydrated" if row["hydrated"] else "not hydrated"
        click.echo(f"{row['step']:<24} req_id {row['req_id'][:12]}  full_id {full:<12}  {state}")


def _duration(text: str) -> float:
    import re

    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*", text)
    if not match:
        raise AmberError(f"invalid duration {text!r}: e.g. 30d, 12h, 90m")
    factor = {"": 86400, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[match.group(2)]
    return float(match.group(1)) * factor


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``AmberError`` becomes one message and its exit code, never a traceback."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        cli.main(args=argv, prog_name="amber", standalone_mode=False)
    except AmberError as exc:
        click.echo(f"error: {exc}", err=True)
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return 2
    except KeyboardInterrupt:
        return 130
    return 0
