"""``amber ui`` and ``amber report``: the local dashboard, and one env's page as a file."""

from __future__ import annotations

from pathlib import Path

import click

from amber.cli import render
from amber.cli._shared import PathType, edge, remote_option
from amber.ui.data import Dashboard
from amber.ui.report import write_report
from amber.ui.server import LOOPBACK, Server

__all__ = ["ui_cmd", "report_cmd"]

_osv_option = click.option(
    "--osv", metavar="DIR|ZIP|URL",
    help="Advisories for the audit findings: OSV records (a directory or zip) or the OSV API "
         "(https://api.osv.dev); default: none, licenses only, nothing fetched.",
)  # fmt: skip


@click.command("ui")
@click.option("--host", default=LOOPBACK, show_default=True,
              help="The address to serve on (not loopback: others see the store).")  # fmt: skip
@click.option("--port", default=8421, show_default=True, type=click.IntRange(0, 65535),
              help="The port (0: any free one).")  # fmt: skip
@click.option("--allow-writes", is_flag=True,
              help="Let the dashboard remove envs (`amber env rm`).")  # fmt: skip
@remote_option
@_osv_option
def ui_cmd(
    host: str, port: int, allow_writes: bool, remote_url: str | None, osv: str | None
) -> None:
    """A local web dashboard over the store (and the remote store): envs, one env's packages,
    graph and audit, diffs, runs, disk, remote tags. Read-only unless --allow-writes.

    \b
      amber ui                      # http://127.0.0.1:8421/
      amber ui --port 0 --osv ./osv-records/
    """
    session = edge(quiet=True)
    if remote_url:
        session.remote_url = remote_url
    try:
        server = Server(Dashboard(session, osv=osv), host, port, allow_writes=allow_writes)
    except OSError as exc:
        raise click.UsageError(f"cannot serve on {host}:{port}: {exc.strerror}") from None
    render.serving(server.url, allow_writes)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


@click.command("report")
@click.argument("ref", metavar="ENV|LOCK")
@click.option("-o", "--output", required=True, type=PathType(dir_okay=False, path_type=Path),
              help="The HTML file to write.")  # fmt: skip
@_osv_option
def report_cmd(ref: str, output: Path, osv: str | None) -> None:
    """One self-contained HTML page about an env or a lock: packages, licenses, dependency
    graph, activation, audit and SBOM summary, runs. It loads nothing from the network.

    \b
      amber report analysis:v1 -o report.html
      amber report amber.lock -o report.html --osv ./osv-records/
    """
    render.reported(write_report(ref, output, edge(quiet=True), osv))
