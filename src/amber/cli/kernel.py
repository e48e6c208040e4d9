"""``amber kernel``: Jupyter kernels that start inside an env."""

from __future__ import annotations

import click

from amber import api
from amber.cli import render
from amber.cli._shared import edge, json_option
from amber.run.kernel import install_kernel, list_kernels, remove_kernel

__all__ = ["kernel_group"]


@click.group("kernel")
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
    store = edge().store
    path = install_kernel(
        api.find_env(env_ref, store), name, display_name, user=not sys_prefix, store=store
    )
    render.kernel_installed(path)


@kernel_group.command("list")
@json_option
def kernel_list(as_json: bool) -> None:
    """The kernels Amber registered."""
    render.kernels(list_kernels(), as_json)


@kernel_group.command("rm")
@click.argument("name")
def kernel_rm(name: str) -> None:
    """Remove a kernel Amber registered."""
    render.kernel_removed(name, remove_kernel(name))
