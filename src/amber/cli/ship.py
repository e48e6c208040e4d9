"""``amber pack`` and ``amber unpack``: envs to machines without an index."""

from __future__ import annotations

from pathlib import Path

import click

from amber.api.ship import bundle, pack
from amber.cli import render
from amber.cli._shared import PathType, edge, quiet_option
from amber.ship.pack import unpack

__all__ = ["pack_cmd", "unpack_cmd"]


@click.command("pack")
@click.argument("env_refs", nargs=-1, required=True, metavar="ENV...")
@click.option(
    "-o",
    "--output",
    required=True,
    type=PathType(path_type=Path),
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
    session = edge(quiet)
    if packages:
        info = bundle(env_refs, platforms, output, session.store, session.progress)
        if not quiet:
            render.bundled(info, output)
        return
    if len(env_refs) > 1:
        raise click.UsageError("an env archive holds one env; several need --packages")
    if platforms:
        raise click.UsageError("--platform goes with --packages: an env archive is this machine's")
    result = pack(env_refs[0], output, session.store, session.progress)
    if not quiet:
        render.packed(result, output)


@click.command("unpack")
@click.argument("archive", type=PathType(path_type=Path))
@click.argument("dest", type=PathType(path_type=Path))
@quiet_option
def unpack_cmd(archive: Path, dest: Path, quiet: bool) -> None:
    """Put an env made by `amber pack` into the new directory DEST, ready to run there.

    Without Amber: tar -xf ARCHIVE -C DEST && DEST/bin/amber-unpack
    """
    count = unpack(archive, dest, edge(quiet).progress)
    render.unpacked(Path(dest).absolute(), count, quiet)
