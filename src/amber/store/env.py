"""A hydrated environment on disk: its completion marker and its activation.

``hydrate`` writes these; ``run`` reads them. Reading is cheap on purpose: the
hot path of ``amber run`` is a stat and a small JSON file, no heavy imports.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from amber import _hot
from amber._frozen import FrozenMap
from amber._fs import write_atomic
from amber.errors import AmberError

__all__ = [
    "Env", "Activation", "capture_activation", "activation_scripts", "run_activation_scripts",
]  # fmt: skip

_META = ".amber"
_SENTINEL = "/__amber_path__"
_IGNORED = {"PATH", "_", "SHLVL", "PWD", "OLDPWD", "PS1"}


@dataclass(frozen=True)
class Activation:
    """What activating an env does to a process environment."""

    set: Mapping[str, str] = field(default_factory=FrozenMap)
    path_prepend: tuple[str, ...] = ()
    # The env's ``etc/conda/activate.d/*.sh``, in the order conda sources them: they run
    # at run time, over the caller's environment (``amber.run.env_environ``), never
    # snapshotted, since what they do depends on the variables they find.
    scripts: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # Read-only and sorted, so equal activations are equal values with one hash.
        object.__setattr__(self, "set", FrozenMap(sorted(self.set.items())))
        object.__setattr__(self, "path_prepend", tuple(self.path_prepend))
        object.__setattr__(self, "scripts", tuple(self.scripts))

    def apply(self, environ: Mapping[str, str]) -> dict[str, str]:
        """A copy of ``environ`` with this env active (and any other conda env/venv off):
        the hot path's own rule (``amber._hot.apply_activation``), so both apply one."""
        return _hot.apply_activation(dict(environ), list(self.path_prepend), dict(self.set))

    def to_json(self) -> str:
        data: dict[str, object] = {
            "set": dict(sorted(self.set.items())),
            "path_prepend": list(self.path_prepend),
        }
        if self.scripts:
            data["scripts"] = list(self.scripts)
        return json.dumps(data, indent=1)

    @classmethod
    def from_json(cls, text: str) -> Activation:
        data = json.loads(text)
        return cls(
            set=data["set"],
            path_prepend=tuple(data["path_prepend"]),
            scripts=tuple(data.get("scripts", ())),
        )


@dataclass(frozen=True)
class Env:
    """An env directory keyed by ``full_id``; complete only once its marker exists."""

    full_id: str
    path: Path

    @property
    def meta(self) -> Path:
        return self.path / _META

    @property
    def marker(self) -> Path:
        return self.meta / "complete"

    @property
    def lock_file(self) -> Path:
        return self.meta / "amber.lock"

    @property
    def is_conda(self) -> bool:
        return (self.path / "conda-meta").is_dir()

    def is_complete(self) -> bool:
        try:
            return self.marker.read_text().strip() == self.full_id
        except OSError:
            return False

    @classmethod
    def at(cls, path: Path) -> Env | None:
        """The complete env in the directory ``path`` (e.g. one ``amber unpack`` made), if any."""
        try:
            full_id = (Path(path) / _META / "complete").read_text().strip()
        except OSError:
            return None
        return cls(full_id, Path(path).absolute()) if full_id else None

    def mark_complete(self) -> None:
        """Written last, after every file of the env."""
        write_atomic(self.marker, self.full_id + "\n")

    def activation(self) -> Activation:
        return Activation.from_json((self.meta / "activation.json").read_text())

    def write_activation(self, activation: Activation) -> None:
        write_atomic(self.meta / "activation.json", activation.to_json())
        self.write_run_activation(activation)

    def write_run_activation(self, activation: Activation) -> None:
        """What the hot path of `amber run` applies (``amber._hot``)."""
        _hot.write_run_activation(
            str(self.meta), dict(activation.set), activation.path_prepend, activation.scripts
        )

    def has_run_activation(self) -> bool:
        return (self.meta / _hot.RUN_ACTIVATION).is_file()

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"


def activation_scripts(prefix: Path, suffix: str = ".sh") -> tuple[str, ...]:
    """The env's ``etc/conda/activate.d/*<suffix>`` in the order conda sources them (by name)."""
    directory = Path(prefix) / "etc" / "conda" / "activate.d"
    try:
        names = sorted(p.name for p in directory.iterdir() if p.name.endswith(suffix))
    except OSError:
        return ()
    return tuple(str(directory / name) for name in names if (directory / name).is_file())


# Set by bash itself: never taken from an activation shell's own environment.
_SHELL_OWN = ("_", "SHLVL", "PWD", "OLDPWD")


def run_activation_scripts(
    prefix: Path, scripts: Sequence[str], environ: Mapping[str, str], quiet: bool = False
) -> dict[str, str]:
    """``environ`` after sourcing ``scripts`` in bash, as ``conda run`` does; what the
    scripts print goes to stderr (nowhere when ``quiet``). Only envs with ``activate.d``
    scripts pay for a shell."""
    import shlex
    import subprocess

    body = "".join(f". {shlex.quote(s)}\n" for s in scripts)
    # The scripts' stdout goes to our stderr; the resulting environment comes out on fd 3.
    command = f"exec 3>&1 1>&2\n{body}env -0 >&3\n"
    try:
        result = subprocess.run(
            ["bash", "--noprofile", "--norc", "-c", command],
            env=dict(environ),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL if quiet else None,
            check=False,
        )
    except OSError as exc:
        raise AmberError(
            f"cannot run the activation scripts of the env {prefix} ({', '.join(scripts)}): "
            f"bash is needed to run them: {exc}"
        ) from None
    out = result.stdout.decode(errors="surrogateescape")
    if result.returncode != 0 or not out:
        raise AmberError(
            f"the activation scripts of the env {prefix} failed (exit code "
            f"{result.returncode}): {', '.join(scripts)}; their output is above"
        )
    activated = dict(item.split("=", 1) for item in out.split("\0") if "=" in item)
    for key in _SHELL_OWN:
        activated.pop(key, None)
        if key in environ:
            activated[key] = environ[key]
    return activated


def capture_activation(prefix: Path, conda: bool) -> Activation:
    """The static part of the env's activation (rattler's script without ``activate.d``,
    run once) and the ``activate.d`` scripts, which run later at each activation."""
    import subprocess

    prefix = Path(prefix)
    if not conda:
        return Activation(set={"VIRTUAL_ENV": str(prefix)}, path_prepend=(str(prefix / "bin"),))
    from rattler.shell import ActivationVariables, Shell, activate

    base_path = [_SENTINEL, "/usr/local/bin", "/usr/bin", "/bin"]
    script = activate(prefix, ActivationVariables(None, base_path), Shell.bash).script
    # rattler's script ends by sourcing activate.d: those lines run at activation time.
    script = "\n".join(
        line
        for line in script.splitlines()
        if not (line.startswith(". ") and "/etc/conda/activate.d/" in line)
    )
    base = {"PATH": os.pathsep.join(base_path), "HOME": os.environ.get("HOME", "/")}
    result = subprocess.run(
        ["bash", "--noprofile", "--norc", "-c", f"{script}\nenv -0"],
        env=base,
        capture_output=True,
        check=True,
    )
    variables = dict(
        item.split("=", 1) for item in result.stdout.decode().split("\0") if "=" in item
    )
    path = variables.get("PATH", "").split(os.pathsep)
    prepend = tuple(path[: path.index(_SENTINEL)]) if _SENTINEL in path else ()
    changed = {
        key: value
        for key, value in variables.items()
        if key not in _IGNORED and base.get(key) != value
    }
    return Activation(set=changed, path_prepend=prepend, scripts=activation_scripts(prefix))
