"""environment.yml: conda's environment file, with its ``pip:`` section, read into a ``Spec``."""

from __future__ import annotations

from pathlib import Path

import yaml

from amber.channels import CondaConfig
from amber.errors import SpecError
from amber.spec.model import Spec, canonical_conda_spec, from_file
from amber.spec.requirements import RequirementsReader

__all__ = ["read_environment_yml"]

_ENV_YML_KEYS = {
    "name", "channels", "dependencies", "prefix", "variables",
    "platforms", "system-requirements", "as-of",
}  # fmt: skip


def _yaml_load(path: Path) -> yaml.Node | None:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.compose(path.read_text(encoding="utf-8"), Loader=loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise SpecError(f"malformed YAML: {exc.problem or exc.context}", path, line) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"cannot read: {exc}", path) from None


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

    def strings(node: yaml.Node, what: str) -> list[tuple[str, int]]:
        if isinstance(node, yaml.ScalarNode) and node.value in ("", "null", "~"):
            return []
        if not isinstance(node, yaml.SequenceNode):
            raise SpecError(f"'{what}' must be a list", path, line(node))
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
            raise SpecError(
                f"unknown key '{key}' (expected one of: {', '.join(sorted(_ENV_YML_KEYS))})",
                path,
                line(key_node),
            )
        if key == "name":
            name = value.value if isinstance(value, yaml.ScalarNode) else None
        elif key == "channels":
            channels = [c for c, _ in strings(value, "channels")]
        elif key == "platforms":
            extra["platforms"] = [p for p, _ in strings(value, "platforms")]
        elif key == "as-of":
            extra["as_of"] = value.value if isinstance(value, yaml.ScalarNode) else None
        elif key == "system-requirements":
            if not isinstance(value, yaml.MappingNode):
                raise SpecError("'system-requirements' must be a mapping", path, line(value))
            extra["system_requirements"] = {k.value: v.value for k, v in value.value}
        elif key == "dependencies":
            if not isinstance(value, yaml.SequenceNode):
                raise SpecError("'dependencies' must be a list", path, line(value))
            for item in value.value:
                if isinstance(item, yaml.MappingNode):
                    for sub_key, sub_value in item.value:
                        if sub_key.value != "pip":
                            raise SpecError(
                                f"unknown dependency section '{sub_key.value}' (only 'pip')",
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
