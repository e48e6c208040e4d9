"""``amber export`` and ``amber import``: other tools' formats, and existing conda envs."""

from __future__ import annotations

from pathlib import Path

import click

from amber.api.convert import adopt, export
from amber.api.files import import_file
from amber.cli import render
from amber.cli._shared import PathType, edge, quiet_option
from amber.errors import AmberError
from amber.formats import ExportOptions

__all__ = ["export_cmd", "import_cmd"]


@click.command("export")
@click.argument("ref", metavar="ENV_OR_LOCK")
@click.option(
    "--format", "fmt", required=True, metavar="FORMAT",
    help="environment.yml, explicit, conda-lock, pixi, requirements, pylock or cyclonedx.",
)  # fmt: skip
@click.option("-o", "--output", type=PathType(path_type=Path), help="Default: standard output.")
@click.option("-p", "--platform", "platforms", multiple=True, metavar="PLATFORM",
              help="Only this platform (repeatable).")  # fmt: skip
@click.option("--no-builds", is_flag=True, help="environment.yml: pins without build strings.")
@click.option("--from-history", is_flag=True, help="environment.yml: your own spec, not the pins.")
@click.option("-n", "--name", metavar="NAME",
              help="environment.yml name: (default: the env name, else amber-ID).")  # fmt: skip
@click.option("--lock-version", type=int, metavar="N",
              help="pixi: the pixi.lock version to write, 6 or 7 (default: 7).")  # fmt: skip
def export_cmd(
    ref: str,
    fmt: str,
    output: Path | None,
    platforms: tuple[str, ...],
    no_builds: bool,
    from_history: bool,
    name: str | None,
    lock_version: int | None,
) -> None:
    """Write an env or lock in another tool's format; say on stderr what it cannot carry.

    \b
      amber export amber.lock --format conda-lock -o conda-lock.yml
      amber export 3f2a9c1d --format explicit -p linux-64 -o linux-64.txt
      amber export amber.lock --format cyclonedx -o sbom.cdx.json
    """
    options = ExportOptions(
        platforms=platforms,
        no_builds=no_builds,
        from_history=from_history,
        name=name,
        lock_version=lock_version,
    )
    render.exported(export(ref, fmt, options, output, edge().store), fmt)


@click.command("import")
@click.argument("file", required=False, type=PathType(path_type=Path))
@click.option("--prefix", "prefix", type=PathType(path_type=Path),
              help="An existing conda environment to adopt.")  # fmt: skip
@click.option("-o", "--output", type=PathType(path_type=Path), default=Path("."),
              show_default=True, help="Where to write environment.yml and amber.lock.")  # fmt: skip
@click.option("--force", is_flag=True, help="Overwrite environment.yml/amber.lock there.")
@click.option("--index-url", help="Where the env's pip packages come from (default: PyPI).")
@quiet_option
def import_cmd(
    file: Path | None,
    prefix: Path | None,
    output: Path,
    force: bool,
    index_url: str | None,
    quiet: bool,
) -> None:
    """Adopt an existing conda environment: a spec (what was asked for) and a lock (what
    is installed, conda and pip), so it can be re-created anywhere. With FILE (uv.lock,
    pixi.lock, conda-lock.yml, pylock.toml, an explicit file...): its packages as-is, no
    solve, into OUTPUT/amber.lock.

    \b
      amber import --prefix ~/miniforge3/envs/analysis -o analysis/
      amber import uv.lock
    """
    if (file is None) == (prefix is None):
        raise AmberError("amber import takes either FILE (an already-resolved lock) or --prefix")
    session = edge(quiet)
    if prefix is None:
        assert file is not None  # noqa: S101 - checked above, for mypy
        result = import_file(file, output, session=session)
        if not quiet:
            render.locked(result)
        return
    done = adopt(
        prefix, output, session.store, session.progress, overwrite=force, index_url=index_url
    )
    render.adopted(done, quiet)
