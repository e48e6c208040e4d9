"""The ``amber`` click group: every command group registered, and ``main``."""

from __future__ import annotations

import importlib
import io
import sys

import click

from amber._input import clip_lines
from amber._main import reported
from amber.errors import print_spec_warnings

__all__ = ["cli", "main"]

# Command name -> "module:attribute". A command's module (and what it needs: the solver,
# the remote store, rich...) is imported only when that command runs, so `amber unpack`
# or `amber gc` start as fast as they did when the CLI was one module of lazy imports.
_COMMANDS = {
    "lock": "lock:lock_cmd",
    "add": "lock:add_cmd",
    "merge-driver": "lock:merge_driver_cmd",
    "install": "envs:install_cmd",
    "env": "envs:env_group",
    "run": "run:run_cmd",
    "shell": "shell:shell_cmd",
    "shell-hook": "shell:shell_hook_cmd",
    "push": "remote:push_cmd",
    "pull": "remote:pull_cmd",
    "remote": "remote:remote_group",
    "audit": "audit:audit_cmd",
    "verify": "inspect:verify_cmd",
    "diff": "inspect:diff_cmd",
    "tree": "inspect:tree_cmd",
    "why": "inspect:why_cmd",
    "du": "inspect:du_cmd",
    "gc": "inspect:gc_cmd",
    "pack": "ship:pack_cmd",
    "unpack": "ship:unpack_cmd",
    "export": "formats:export_cmd",
    "import": "formats:import_cmd",
    "runs": "runs:runs_group",
    "steps": "runs:steps_cmd",
    "kernel": "kernel:kernel_group",
    "config": "config:config_group",
    "policy": "policy:policy_group",
    "ui": "ui:ui_cmd",
    "report": "ui:report_cmd",
}


class _LazyGroup(click.Group):
    """click's documented pattern for large CLIs: commands imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = _COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, _, attribute = target.partition(":")
        command = getattr(importlib.import_module(f"amber.cli.{module}"), attribute)
        assert isinstance(command, click.Command) and command.name == cmd_name
        return command


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="amber-env", prog_name="amber")
def cli() -> None:
    """Amber: reproducible conda + PyPI environments.

    Resolve a spec into a hashed lock, hydrate environments from a
    content-addressed store, reuse identical ones, and run commands in them.
    The store lives in $AMBER_HOME.
    """


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``AmberError`` becomes one message and its exit code, never a traceback."""
    argv = list(sys.argv[1:] if argv is None else argv)
    print_spec_warnings()
    try:
        cli.main(args=argv, prog_name="amber", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 130
    except click.ClickException as exc:
        shown = io.StringIO()
        exc.show(file=shown)  # click quotes the bad value whole: cut long lines
        click.echo(clip_lines(shown.getvalue()), err=True, nl=False)
        return 2
    except (Exception, KeyboardInterrupt) as exc:
        said = reported(exc)
        if said is None:
            raise
        if said[0]:
            click.echo(said[0], err=True)
        return said[1]
    return 0
