"""Hierarchical env names (``team/project/env:tag``): one validator, safe storage keys."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from helpers import write
from hypothesis import given, settings
from hypothesis import strategies as st

from amber.errors import InvalidNameError
from amber.store import Store
from amber.store.refs import from_tag_key, parse_tag, split_ref, tag_key, under

# Characters a name might hold, good and bad: path tricks, separators, Docker's set.
_PIECES = st.sampled_from(
    ["a", "Z", "0", "9", ".", "..", "_", "-", "/", "\\", ":", " ", "\x00", "é", "json", "~"]
)
_REFS = st.lists(_PIECES, min_size=0, max_size=14).map("".join)


@settings(max_examples=300, deadline=None)
@given(ref=_REFS)
def test_any_accepted_name_is_a_key_inside_the_tag_directory(ref: str):
    root = Path("/srv/remote")
    try:
        name, tag = parse_tag(ref)
    except InvalidNameError as exc:
        assert exc.ref == ref and exc.rule and "invalid tag" in str(exc)
        assert split_ref(ref) is None  # the one validator: both entry points agree
        return
    assert split_ref(ref) == (name, tag)
    key = tag_key(name, tag)
    where = os.path.normpath(root / key)
    assert where.startswith(str(root / "tags") + "/") and where == str(root / key)
    assert from_tag_key(key) == (name, tag)  # listing reads back exactly this tag
    assert not any(part.startswith(".") for part in key.split("/"))  # no hidden objects


@pytest.mark.parametrize(
    ("ref", "rule"),
    [
        ("team/../etc:v1", "'..' is not a name segment"),
        ("./x:v1", "'.' is not a name segment"),
        ("/abs/name:v1", "does not start with '/'"),
        ("team//x:v1", "no empty segment"),
        ("team/x/:v1", "no empty segment"),
        ("team\\x:v1", "backslash"),
        ("team/x y:v1", "the segment 'x y'"),
        ("team/x:-bad", "the tag '-bad'"),
        ("team/v1.json/x:v1", "ends in '.json'"),
        ("a" * 256, "at most 255 characters"),
        ("team:" + "t" * 129, "at most 128 characters"),
        (":v1", "the name is empty"),
    ],
)
def test_refused_names_say_the_rule(ref: str, rule: str):
    with pytest.raises(InvalidNameError, match="invalid tag") as info:
        parse_tag(ref)
    assert rule in str(info.value)


@pytest.mark.parametrize(
    "ref",
    # Valid before names had segments: uppercase, dots, a trailing '-', an empty tag.
    ["Analysis:V1", "my.env:1.0", "x-:y_", "name:", "mlp/metaflow/numpy_test_env:v1",
     "data-eng/pipeline/spark-env:latest", "team/x:_private"],
)  # fmt: skip
def test_names_teams_use_and_names_valid_before(ref: str):
    name, tag = parse_tag(ref)
    assert f"{name}:{tag}".startswith(ref.rstrip(":"))


def test_prefix_filters():
    assert under("team/a/b", "team/") and under("team/a", "team/")
    assert not under("team", "team/") and not under("teams/a", "team/")
    assert under("team", "team") and not under("team/a", "team")


def test_hierarchical_tags_through_the_cli(amber, conda_channel: Path, tmp_path: Path):
    spec = write(
        tmp_path / "environment.yml",
        f"channels: ['{conda_channel}']\ndependencies: [python, greetlib]\n",
    )
    prefix = Path(amber("install", "-f", spec, check=True).stdout.strip())
    amber("env", "tag", prefix.name, "mlp/metaflow/greet_env:v1", check=True)
    amber("env", "tag", prefix.name, "mlp/other/env", check=True)
    amber("env", "tag", prefix.name, "solo:v1", check=True)
    ran = amber("run", "--env", "mlp/metaflow/greet_env:v1", "--", "greet", check=True)
    assert ran.stdout.strip() == "hello from greetlib"
    assert amber("run", "--env", "mlp/other/env", "--", "greet", check=True).returncode == 0
    listed = amber("env", "tags", "mlp/", check=True).stdout
    assert "mlp/metaflow/greet_env" in listed and "mlp/other/env" in listed
    assert "solo" not in listed
    exact = amber("env", "tags", "mlp/other/env", check=True).stdout
    assert "mlp/other/env" in exact and "greet_env" not in exact
    bad = amber("env", "tag", prefix.name, "mlp/../escape:v1")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "mlp/../escape:v1" in bad.stderr and "'..' is not a name segment" in bad.stderr
    bad = amber("env", "tags", "/abs")
    assert bad.returncode == 2 and "does not start with '/'" in bad.stderr


def test_tags_written_before_authors_were_recorded_show_unknown(amber, amber_home: Path):
    store = Store(amber_home)
    store.tag("old", "v1", "a" * 64)  # the index, at this version
    store.close()
    db = sqlite3.connect(amber_home / "index.db")
    db.execute("DROP TABLE tag_authors")  # as an index of schema 4 was
    db.execute("PRAGMA user_version=4")
    db.commit()
    db.close()
    again = Store(amber_home)
    assert [(str(r), r.author) for r in again.tag_records()] == [("old:v1", None)]
    again.tag("new", "v1", "b" * 64, "ada@lab")
    again.close()
    table = amber("env", "tags", check=True).stdout.splitlines()
    assert table[0].split() == ["NAME", "TAG", "ENV", "SIZE", "BY", "WHEN"]
    assert "ada@lab" in table[1] and "unknown" in table[2]
