"""``amber lock --tag NAME[:TAG]``: the env a lock names is tagged at lock time (as
``metaflow environment resolve --alias``), and who tagged and when are shown."""

from __future__ import annotations

import json
from pathlib import Path

from helpers import write


def test_lock_tags_its_env_and_run_hydrates_it(amber, conda_channel: Path, tmp_path: Path):
    spec = write(
        tmp_path / "environment.yml",
        f"channels: ['{conda_channel}']\ndependencies: [python, greetlib]\n",
    )
    done = amber(
        "lock", "-f", spec, "--tag", "mlp/greet/env:v1", "--tag", "mlp/greet/env",
        env={"AMBER_USER": "ada@lab"}, check=True,
    )  # fmt: skip
    assert "mlp/greet/env:v1" in done.stderr
    tags = json.loads(amber("env", "tags", "mlp/", "--json", check=True).stdout)
    assert [(t["name"], t["tag"], t["author"]) for t in tags] == [
        ("mlp/greet/env", "latest", "ada@lab"),
        ("mlp/greet/env", "v1", "ada@lab"),
    ]
    assert tags[0]["full_id"] == tags[1]["full_id"] and tags[0]["created"] > 0
    # Nothing hydrated yet: the tag names the lock, and run hydrates it on first use.
    assert amber("env", "list", "--json", check=True).stdout.strip() in ("[]", "")
    ran = amber("run", "--env", "mlp/greet/env:v1", "--", "greet", check=True)
    assert ran.stdout.strip() == "hello from greetlib"

    table = amber("env", "tags", check=True).stdout.splitlines()
    assert table[0].split() == ["NAME", "TAG", "ENV", "SIZE", "BY", "WHEN"]
    assert len({line.index(tags[0]["full_id"][:12]) for line in table[1:]}) == 1  # aligned
    assert "ada@lab" in table[1]

    # An immutable tag that names another env: refused before anything is tagged.
    other = write(
        tmp_path / "b" / "environment.yml",
        f"channels: ['{conda_channel}']\ndependencies: [python]\n",
    )
    moved = amber("lock", "-f", other, "--tag", "mlp/new:v1", "--tag", "mlp/greet/env:v1")
    assert moved.returncode == 2 and "mlp/greet/env:v1 already names env" in moved.stderr
    assert "mlp/new" not in amber("env", "tags", check=True).stdout
    third = write(tmp_path / "c" / "environment.yml", other.read_text())
    bad = amber("lock", "-f", third, "--tag", "mlp/../x")
    assert bad.returncode == 2 and "'..' is not a name segment" in bad.stderr
    assert not (tmp_path / "c" / "amber.lock").exists()  # refused before the solve
