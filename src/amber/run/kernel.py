"""Jupyter kernels that run inside Amber envs.

A kernel is a kernelspec directory whose ``kernel.json`` starts ``amber run --env
FULL_ID -- python -m ipykernel_launcher``, with the Python that runs Amber: Jupyter
needs no ``amber`` on its PATH, the kernel gets the env's activation, and
``amber env rm`` refuses the env while a kernel runs in it.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from amber._fs import remove_tree
from amber.errors import AmberError, EnvNotFoundError
from amber.settings import default_home
from amber.store import Store
from amber.store.env import Env

__all__ = ["Kernel", "install_kernel", "remove_kernel", "list_kernels", "kernels_dir"]

# Jupyter's own rule for kernel names (jupyter_client.kernelspec).
_NAME = re.compile(r"^[a-z0-9._\-]+$", re.IGNORECASE)


@dataclass(frozen=True)
class Kernel:
    """A kernelspec made by Amber."""

    name: str
    display_name: str
    full_id: str
    path: Path  # the kernelspec directory
    home: str | None  # the store holding the env

    def env_exists(self) -> bool:
        """True when the env it starts is still hydrated in its store."""
        store = Store(Path(self.home) if self.home else default_home())
        return Env(self.full_id, store.env_path(self.full_id)).is_complete()


def kernels_dir(*, user: bool = True) -> Path:
    """Where ``install_kernel`` writes: Jupyter's user data dir (``$JUPYTER_DATA_DIR``
    when set), or with ``user=False`` the Python environment running Amber."""
    if not user:
        return Path(sys.prefix) / "share" / "jupyter" / "kernels"
    return _user_data_dir() / "kernels"


def install_kernel(
    env: Env,
    name: str | None = None,
    display_name: str | None = None,
    *,
    user: bool = True,
    store: Store,
) -> Path:
    """Register ``env`` as a Jupyter kernel; returns its kernelspec directory.

    The default name is ``amber-<full_id[:12]>``. A kernel of that name made by Amber is
    replaced; one made by anything else is left alone (``AmberError``)."""

    if not env.is_complete():
        raise EnvNotFoundError(
            f"the env {env.full_id[:12]} is not hydrated: `amber install` it first", ref=env.full_id
        )
    versions = _python_versions(env.path)
    if not any(_has_dist(env.path, v, "ipykernel") for v in versions):
        raise AmberError(
            f"the env {env.full_id[:12]} has no ipykernel, which Jupyter needs to run Python "
            "in it: add `ipykernel` to its spec (conda or PyPI), install it again, and "
            "install the kernel of the new env"
        )
    name = (name or f"amber-{env.full_id[:12]}").lower()
    if not _NAME.match(name):
        raise AmberError(
            f"invalid kernel name {name!r}: use letters, digits, '.', '_' and '-' only"
        )
    label = _env_name(env, store) or env.full_id[:12]
    python = f"Python {versions[0]} " if versions else ""
    argv = [sys.executable, "-m", "amber", "run", "--env", env.full_id, "--"]
    argv += ["python", "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    spec = {
        "argv": argv,
        "display_name": display_name or f"{python}(amber: {label})",
        "language": "python",
        "interrupt_mode": "signal",
        # Jupyter may start without our AMBER_HOME: name the store that holds the env.
        "env": {"AMBER_HOME": str(store.home.absolute())},
        "metadata": {"amber": {"full_id": env.full_id, "home": str(store.home.absolute())}},
    }
    target = kernels_dir(user=user) / name
    existing = _read_spec(target)
    if target.exists() and (existing is None or _amber_meta(existing) is None):
        raise AmberError(
            f"a kernel named {name!r} not made by amber exists at {target}: "
            "choose another name with --name"
        )
    tmp: Path | None = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=target.parent))
        (tmp / "kernel.json").write_text(json.dumps(spec, indent=1) + "\n", encoding="utf-8")
        os.chmod(tmp, 0o755)
        if target.exists():
            remove_tree(target)
        os.replace(tmp, target)
    except OSError as exc:
        if tmp is not None:
            remove_tree(tmp)
        raise AmberError(f"cannot write the kernel into {target.parent}: {exc.strerror}") from None
    return target


def list_kernels() -> list[Kernel]:
    """The kernels Amber made, wherever Jupyter looks for kernels (the first of a name wins,
    as in Jupyter)."""
    found: dict[str, Kernel | None] = {}  # None: a kernel not made by amber
    for directory in _kernel_dirs():
        try:
            entries = sorted(directory.iterdir())
        except OSError:
            continue
        for path in entries:
            name = path.name.lower()
            if name in found or name.startswith("."):
                continue
            spec = _read_spec(path)
            meta = _amber_meta(spec) if spec else None
            if spec is None or meta is None:
                found[name] = None  # it shadows any later kernel of that name
                continue
            found[name] = Kernel(
                name=name,
                display_name=str(spec.get("display_name", name)),
                full_id=str(meta["full_id"]),
                path=path,
                home=meta.get("home"),
            )
    return [k for k in found.values() if k is not None]


def remove_kernel(name: str) -> Path:
    """Remove the Amber kernel ``name``; returns the directory removed."""

    name = name.lower()
    for directory in _kernel_dirs():
        path = directory / name
        spec = _read_spec(path)
        if spec is None:
            continue
        if _amber_meta(spec) is None:
            raise AmberError(
                f"the kernel {name!r} at {path} was not made by amber; "
                f"remove it with `jupyter kernelspec remove {name}`"
            )
        try:
            remove_tree(path)
        except OSError as exc:
            raise AmberError(f"cannot remove the kernel at {path}: {exc.strerror}") from None
        return path
    raise AmberError(f"no kernel named {name!r}: `amber kernel list` shows amber's kernels")


# -- helpers ------------------------------------------------------------------------


def _user_data_dir() -> Path:
    """Jupyter's user data dir, by jupyter_core when installed, else by its own rule."""
    try:
        from jupyter_core.paths import jupyter_data_dir  # noqa: PLC0415 - optional
    except ImportError:
        pass
    else:
        return Path(jupyter_data_dir())
    if os.environ.get("JUPYTER_DATA_DIR"):
        return Path(os.environ["JUPYTER_DATA_DIR"]).expanduser()
    home = Path.home()
    if sys.platform == "darwin":
        return home / "Library" / "Jupyter"
    if sys.platform == "win32":
        appdata = os.environ.get("APPDATA")
        return Path(appdata) / "jupyter" if appdata else home / ".jupyter" / "data"
    xdg = os.environ.get("XDG_DATA_HOME")
    return (Path(xdg) if xdg else home / ".local" / "share") / "jupyter"


def _kernel_dirs() -> list[Path]:
    """Every directory Jupyter looks for kernels in, in its order."""
    try:
        from jupyter_core.paths import jupyter_path  # noqa: PLC0415 - optional
    except ImportError:
        pass
    else:
        return [Path(p) for p in jupyter_path("kernels")]
    extra = [Path(p) for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p]
    data = [*extra, _user_data_dir(), Path(sys.prefix) / "share" / "jupyter"]
    if sys.platform != "win32":
        data += [Path("/usr/local/share/jupyter"), Path("/usr/share/jupyter")]
    return [d / "kernels" for d in dict.fromkeys(data)]


def _read_spec(path: Path) -> dict[str, object] | None:
    try:
        data = json.loads((path / "kernel.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _amber_meta(spec: dict[str, object]) -> dict[str, str] | None:
    meta = spec.get("metadata")
    amber = meta.get("amber") if isinstance(meta, dict) else None
    if isinstance(amber, dict) and isinstance(amber.get("full_id"), str):
        return amber
    return None


def _python_versions(prefix: Path) -> list[str]:
    """X.Y of the interpreters whose site-packages the env has (usually one)."""
    lib = prefix / "lib"
    try:
        names = sorted(p.name for p in lib.iterdir() if (p / "site-packages").is_dir())
    except OSError:
        names = []
    versions = [n.removeprefix("python") for n in names if n.startswith("python3")]
    if (prefix / "Lib" / "site-packages").is_dir():
        versions.append("")  # Windows: one unversioned site-packages
    return versions


def _has_dist(prefix: Path, version: str, dist: str) -> bool:
    if version:
        site = prefix / "lib" / f"python{version}" / "site-packages"
    else:
        site = prefix / "Lib" / "site-packages"
    return any(site.glob(f"{dist}-*.dist-info"))


def _env_name(env: Env, store: Store) -> str | None:
    try:
        return next((e.name for e in store.envs() if e.full_id == env.full_id and e.name), None)
    except Exception:  # the index is a nicety here: never fail over a label
        return None
