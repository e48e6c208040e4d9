"""Text that activates an env in the caller's own shell (``amber shell-hook``).

Like ``pixi shell-hook`` and ``conda shell.bash activate``: the variables the env's
activation sets (PATH in full, computed from the caller's), the ones it removes, then
the env's ``activate.d`` scripts for that shell, sourced by the shell itself.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping

from amber.errors import AmberError
from amber.store.env import Env, activation_scripts

__all__ = ["SHELLS", "shell_hook"]

SHELLS = ("bash", "zsh", "fish", "powershell", "cmd")
_SUFFIX = {"bash": ".sh", "zsh": ".sh", "fish": ".fish", "powershell": ".ps1", "cmd": ".bat"}
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def shell_hook(
    env: Env,
    shell: str,
    environ: Mapping[str, str],
    variables: Mapping[str, str] | None = None,
) -> str:
    """The script that activates ``env`` in ``shell`` whose environment is ``environ``."""
    if shell not in SHELLS:
        raise AmberError(f"unknown shell {shell!r}: use one of {', '.join(SHELLS)}")
    target = env.activation().apply(environ)
    if variables:
        target.update(variables)
    lines = [_unset(shell, key) for key in sorted(set(environ) - set(target)) if _NAME.match(key)]
    lines += [
        _set(shell, key, value)
        for key, value in sorted(target.items())
        if environ.get(key) != value and _NAME.match(key)
    ]
    scripts = activation_scripts(env.path, _SUFFIX[shell]) if env.is_conda else ()
    lines += [_source(shell, script) for script in scripts]
    return "\n".join(lines) + "\n"


def _set(shell: str, key: str, value: str) -> str:
    if shell == "fish":
        if key == "PATH":  # a list in fish
            return "set -gx PATH " + " ".join(_fish_quote(p) for p in value.split(":") if p)
        return f"set -gx {key} {_fish_quote(value)}"
    if shell == "powershell":
        return f"${{Env:{key}}} = {_ps_quote(value)}"
    if shell == "cmd":
        return f'@SET "{key}={value}"'
    return f"export {key}={shlex.quote(value)}"


def _unset(shell: str, key: str) -> str:
    if shell == "fish":
        return f"set -e {key}"
    if shell == "powershell":
        return f"Remove-Item -ErrorAction SilentlyContinue Env:{key}"
    if shell == "cmd":
        return f"@SET {key}="
    return f"unset {key}"


def _source(shell: str, script: str) -> str:
    if shell == "fish":
        return f"source {_fish_quote(script)}"
    if shell == "powershell":
        return f". {_ps_quote(script)}"
    if shell == "cmd":
        return f'@CALL "{script}"'
    return f". {shlex.quote(script)}"


def _fish_quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _ps_quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
