"""What every command group shares: the common options and what a command needs to run."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click

from amber._progress import Progress
from amber.errors import AmberError
from amber.run._hotpath import DEFAULT_FILES, default_file
from amber.store import Store

__all__ = ["Edge", "edge", "spec_file", "file_option", "quiet_option", "python_option"]

_FILE_HELP = (
    "environment.yml, requirements.txt, pyproject.toml or an amber lock "
    "(default: one in the current dir)"
)

file_option = click.option("-f", "--file", "file", type=click.Path(path_type=Path), help=_FILE_HELP)
quiet_option = click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
python_option = click.option(
    "--python", help="Python version of a PyPI-only env (default: the one running amber)."
)
remote_option = click.option(
    "--remote", "remote_url", envvar="AMBER_REMOTE", metavar="URL",
    help="The remote store: s3://, gs://, az://, file:// (default: $AMBER_REMOTE).",
)  # fmt: skip
json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


@dataclass(frozen=True)
class Edge:
    """What a command hands the core: the store and the progress display."""

    store: Store
    progress: Progress


def edge(quiet: bool = False) -> Edge:
    """The one place commands get their store and progress (the API's Session, once it lands)."""
    return Edge(Store(), Progress(quiet=quiet))


def spec_file(given: Path | None) -> Path:
    """The file a command was given, else the spec file in the current directory."""
    if given is not None:
        return given
    found = default_file()
    if found is not None:
        return found
    raise AmberError(
        f"no spec file given and none found here ({', '.join(DEFAULT_FILES)}): pass -f FILE"
    )
