"""environment.yml: conda's environment file, with its ``pip:`` section, read into a ``Spec``."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import yaml

from amber import _yaml
from amber._input import MAX_ENTRIES, read_input, shorten
from amber.channels import CondaConfig
from amber.errors import SpecError, SpecWarning
from amber.spec.model import Spec, canonical_conda_spec, checked_channel, from_file
from amber.spec.requirements import RequirementsReader

__all__ = ["read_environment_yml"]

# conda's own keys (conda/env/env.py VALID_KEYS), then Amber's (pixi's and conda-lock's
# ``platforms``). conda ignores any other key with a warning naming it; so does Amber.
_CONDA_KEYS = ("name", "dependencies", "prefix", "channels", "variables")
_ENV_YML_KEYS = (*_CONDA_KEYS, "platforms", "system-requirements", "as-of")
# What other tools mean by keys conda ignores, said in the warning.
_KNOWN_ELSEWHERE = {
    "category": "conda-lock's dependency category",
    "pip-repositories": "conda-lock's extra PyPI indexes: put `--extra-index-url URL` in the "
    "pip: list",
    "allow-pypi-requests": "conda-lock's switch for PyPI lookups",
}


def _yaml_load(path: Path) -> yaml.Node | None:
    text = read_input(path, lambda message: SpecError(message, path))
    try:
        return _yaml.compose(text)
    except _yaml.Invalid as exc:
        what, line = exc.what, exc.line
        raise SpecError(f"malformed YAML: {what}", path, line) from None


def read_environment_yml(
    path: Path, *, python: str | None = None, channel_config: CondaConfig | None = None
) -> Spec:
    """conda's environment.yml, with its ``pip:`` section, as a ``Spec``; its channels
    resolved with ``channel_config`` (default: conda's built-in settings)."""
    root = _yaml_load(path)
    if root is None:
        raise SpecError("empty file: expected a mapping with 'dependencies'", path)
    if not isinstance(root, yaml.MappingNode):
        raise SpecError("expected a mapping with 'dependencies'", path, root.start_mark.line + 1)

    def line(node: yaml.Node) -> int:
        return node.start_mark.line + 1

    def _bounded(node: yaml.SequenceNode, what: str) -> None:
        if len(node.value) > MAX_ENTRIES:
            raise SpecError(
                f"'{what}' lists {len(node.value):,} entries: at most {MAX_ENTRIES:,}",
                path,
                line(node),
            )

    def scalar(node: yaml.Node, what: str) -> str | None:
        if not isinstance(node, yaml.ScalarNode):
            raise SpecError(
                f"'{what}' must be a single value, not a list or mapping", path, line(node)
            )
        return (
            None if node.value in ("", "null", "~") and node.tag.endswith(":null") else node.value
        )

    def strings(node: yaml.Node, what: str) -> list[tuple[str, int]]:
        if isinstance(node, yaml.ScalarNode) and node.value in ("", "null", "~"):
            return []
        if not isinstance(node, yaml.SequenceNode):
            raise SpecError(f"'{what}' must be a list", path, line(node))
        _bounded(node, what)
        out = []
        for item in node.value:
            if not isinstance(item, yaml.ScalarNode):
                raise SpecError(f"'{what}' entries must be strings", path, line(item))
            out.append((item.value, line(item)))
        return out

    name: str | None = None
    channels: list[str] = []
    conda: list[str] = []
    pip_lines: list[tuple[str, int]] = []
    extra: dict[str, object] = {}
    for key_node, value in root.value:
        key = key_node.value
        if key not in _ENV_YML_KEYS:
            _unknown_key(str(key), path, line(key_node))
            continue
        if key == "name":
            name = scalar(value, "name")
        elif key == "channels":
            channels = []
            for c, lineno in strings(value, "channels"):
                try:
                    channels.append(checked_channel(c, path.parent))
                except SpecError as exc:
                    raise SpecError(str(exc), path, lineno) from None
        elif key == "platforms":
            extra["platforms"] = [p for p, _ in strings(value, "platforms")]
        elif key == "as-of":
            extra["as_of"] = scalar(value, "as-of")
        elif key == "system-requirements":
            if not isinstance(value, yaml.MappingNode):
                raise SpecError("'system-requirements' must be a mapping", path, line(value))
            extra["system_requirements"] = {
                k.value: scalar(v, f"system-requirements: {shorten(k.value)}")
                for k, v in value.value
            }
        elif key == "variables":
            extra["variables"] = _variables(value, path, line(value))
        elif key == "prefix":
            if not isinstance(value, yaml.ScalarNode) or not value.value:
                raise SpecError("'prefix' must be a path", path, line(value))
            if "\0" in value.value:  # no file system takes it (os calls raise ValueError)
                raise SpecError("'prefix' holds a NUL character: no path can", path, line(value))
            # Where `amber install -f FILE` builds the env when the file has no `name:`, as
            # conda's `env create` does; conda expands it as a `-p` (`$VAR`, `~`, from the
            # current directory: conda/base/context.py `expand`).
            given = os.path.expanduser(os.path.expandvars(value.value))
            extra["prefix"] = Path(os.path.abspath(given))
        elif key == "dependencies":
            if isinstance(value, yaml.ScalarNode) and value.value in ("", "null", "~"):
                continue  # `dependencies:` with nothing under it: none, as in conda
            if not isinstance(value, yaml.SequenceNode):
                raise SpecError("'dependencies' must be a list", path, line(value))
            _bounded(value, "dependencies")
            for item in value.value:
                if isinstance(item, yaml.MappingNode):
                    for sub_key, sub_value in item.value:
                        if sub_key.value != "pip":
                            raise SpecError(
                                f"unknown dependency section {shorten(sub_key.value)!r} "
                                "(only 'pip')",
                                path,
                                line(sub_key),
                            )
                        pip_lines.extend(strings(sub_value, "pip"))
                    continue
                if not isinstance(item, yaml.ScalarNode):
                    raise SpecError(
                        "dependencies must be strings or a 'pip:' list", path, line(item)
                    )
                try:
                    conda.append(canonical_conda_spec(item.value))
                except SpecError as exc:
                    raise SpecError(str(exc), path, line(item)) from None
    reqs = RequirementsReader()
    reqs.files.append(path.resolve())
    for text, lineno in pip_lines:
        reqs.line(text.strip(), path, lineno)
    return from_file(
        path, name, conda=conda, channels=channels, python=python, **extra, **reqs.spec_fields(),
        channel_config=channel_config,
    )  # fmt: skip


def _unknown_key(key: str, path: Path, line: int) -> None:
    """conda's EnvironmentSectionNotValid: the key is ignored, with a warning naming it."""
    said = _KNOWN_ELSEWHERE.get(key)
    import difflib  # noqa: PLC0415 - only for a key it does not know

    close = difflib.get_close_matches(key, _ENV_YML_KEYS, n=1)
    hint = f" ({said})" if said else f" (did you mean '{close[0]}'?)" if close else ""
    message = (
        f"unknown key {shorten(key)!r}{hint} is ignored, as conda ignores it "
        f"(known: {', '.join(_ENV_YML_KEYS)})"
    )
    warnings.warn(SpecWarning(message, path, line), stacklevel=3)


def _variables(node: yaml.Node, path: Path, line: int) -> dict[str, object]:
    """``variables:`` as conda reads them: a mapping of names to scalar values."""
    if isinstance(node, yaml.ScalarNode) and node.value in ("", "null", "~"):
        return {}
    if not isinstance(node, yaml.MappingNode):
        raise SpecError("'variables' must be a mapping of names to values", path, line)
    out: dict[str, object] = {}
    for key, value in node.value:
        if not isinstance(value, yaml.ScalarNode):
            raise SpecError(
                f"variable '{key.value}' needs a text value", path, value.start_mark.line + 1
            )
        # The value as YAML types it (true -> True), then as conda writes it: str().
        out[str(key.value)] = yaml.safe_load(yaml.serialize(value))
    return out
