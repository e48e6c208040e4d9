"""Hierarchical names (``team/project/env:tag``) in the remote store, on S3 and ``file://``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from remote_fixtures import fake_wheel, wheel_lock

from amber.errors import InvalidNameError
from amber.remote import Remote
from amber.store import Store


def test_push_list_by_prefix_and_pull_hierarchical_names(remote_url: str, tmp_path: Path, amber):
    one = wheel_lock([fake_wheel(tmp_path / "w", "alpha")])
    two = wheel_lock([fake_wheel(tmp_path / "w", "beta")])
    laptop = Store(tmp_path / "laptop")
    remote = Remote.open(remote_url)
    remote.push(one, laptop, tags=[("mlp/metaflow/numpy_env", "v1"), ("mlp/other", "v1")])
    remote.push(two, laptop, tags=[("data-eng/pipeline/spark-env", "latest"), ("mlp", "v2")])
    assert [str(t) for t in remote.ls("mlp/")] == ["mlp/metaflow/numpy_env:v1", "mlp/other:v1"]
    assert [str(t) for t in remote.ls("mlp")] == ["mlp:v2"]  # a NAME: that name's tags only
    assert [str(t) for t in remote.ls("mlp/metaflow/")] == ["mlp/metaflow/numpy_env:v1"]
    assert len(remote.ls()) == 4
    other = Store(tmp_path / "other")
    assert remote.pull("mlp/metaflow/numpy_env:v1", other) == one
    assert other.tagged("mlp/metaflow/numpy_env", "v1") == one.full_id
    assert remote.pull("data-eng/pipeline/spark-env", other) == two  # :latest
    with pytest.raises(InvalidNameError, match=r"'\.\.' is not a name segment"):
        remote.push(one, laptop, tags=[("mlp/../../locks", "v1")])
    with pytest.raises(InvalidNameError, match="does not start with '/'"):
        remote.ls("/mlp/")

    listed = amber("remote", "ls", "mlp/", "--remote", remote_url, "--json", check=True)
    assert [(t["name"], t["tag"]) for t in json.loads(listed.stdout)] == [
        ("mlp/metaflow/numpy_env", "v1"),
        ("mlp/other", "v1"),
    ]
    bad = amber("remote", "ls", "mlp//x", "--remote", remote_url)
    assert bad.returncode == 2 and "no empty segment" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_who_tagged_is_recorded_and_old_tags_show_unknown(remote_url: str, tmp_path: Path, amber):
    lock = wheel_lock([fake_wheel(tmp_path / "w", "alpha")])
    laptop = Store(tmp_path / "laptop")
    remote = Remote.open(remote_url)
    remote.push(lock, laptop, tags=[("team/new", "v1")], author="ada@lab")
    # A tag pushed by an Amber that did not record who: its JSON has no "by".
    remote.objects.write(
        "tags/team/old/v1.json",
        json.dumps({"full_id": lock.full_id, "pushed_at": 1.0e9, "host": "oldbox"}).encode(),
    )
    infos = {str(t): t for t in remote.ls("team/")}
    assert infos["team/new:v1"].author == "ada@lab" and infos["team/old:v1"].author is None
    other = Store(tmp_path / "other")
    remote.pull("team/new:v1", other)
    assert [r.author for r in other.tag_records("team/new")] == ["ada@lab"]
    listed = json.loads(amber("remote", "ls", "team/", "--json", "--remote", remote_url).stdout)
    assert [(t["name"], t["author"], t["host"]) for t in listed][1] == ("team/old", None, "oldbox")
    table = amber("remote", "ls", "--remote", remote_url, check=True).stdout.splitlines()
    assert table[0].split() == ["NAME", "TAG", "ENV", "BY", "WHEN"]
    assert "ada@lab" in table[1] and "?@oldbox" in table[2]
    assert table[1].index(lock.full_id[:12]) == table[2].index(lock.full_id[:12])


def test_an_invalid_reference_names_its_rule(tmp_path: Path, amber):
    remote = (tmp_path / "remote").as_uri()
    pulled = amber("pull", "team/../../etc:v1", "--remote", remote)
    assert pulled.returncode == 2 and "'..' is not a name segment" in pulled.stderr
    assert "Traceback" not in pulled.stderr and not (tmp_path / "remote").exists()
