"""conda's own test-recipes channel installed for real: activation, link scripts, pre-link
messages, clobbered files, track features and noarch python, each as conda handles it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import TEST_RECIPES, conda_spec, env_dirs, recipes_channel

pytestmark = pytest.mark.skipif(not TEST_RECIPES.is_dir(), reason="needs ../shared/data")


@pytest.fixture(scope="module")
def recipes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return recipes_channel(tmp_path_factory.mktemp("test-recipes") / "channel")


def _install(amber, recipes: Path, tmp_path: Path, *deps: str, env=None):
    spec = conda_spec(tmp_path, recipes, *deps)
    return spec, amber("install", "-f", spec, env=env)


def test_activation_scripts(amber, recipes, tmp_path):
    spec, done = _install(amber, recipes, tmp_path, "activate_deactivate_package")
    assert done.returncode == 0, done
    ran = amber("run", "-f", spec, "--", "sh", "-c", 'echo "$TEST"; echo "$PATH"', check=True)
    test, path = ran.stdout.splitlines()
    assert test == "teststringfromactivate"
    # activate.sh prepends to the PATH it finds: the env's bin is already on it.
    prefix = Path(done.stdout.strip())
    assert path.startswith(f"teststringfromactivate/bin/test:{prefix}/bin:")


def test_post_link_runs_in_the_activated_env_and_its_messages_are_shown(amber, recipes, tmp_path):
    _, done = _install(amber, recipes, tmp_path, "post_link_run_in_env_package")
    assert done.returncode == 0, done
    assert "TEST_VAR is set to :1:" in done.stderr + done.stdout
    assert "Success: TEST_VAR is set correctly" in done.stderr + done.stdout
    prefix = Path(done.stdout.strip())
    assert not (prefix / ".messages.txt").exists()  # shown, then removed, as conda does
    assert amber("verify", prefix.name[:12]).returncode == 0


def test_post_link_scripts_run_in_link_order(amber, recipes, tmp_path):
    # post_link-d's script (sourced: it `return`s) needs bin/file, which only the post-link
    # script of its dependency post_link-e writes: dependencies' scripts run first.
    _, done = _install(amber, recipes, tmp_path, "post_link-d")
    assert done.returncode == 0, done
    prefix = Path(done.stdout.strip())
    assert (prefix / "bin" / "file").read_text() == "test\n"
    # post_link-c's needs the bin/file that post_link-b ships.
    _, done = _install(amber, recipes, tmp_path / "c", "post_link-c")
    assert done.returncode == 0, done


def test_failing_post_link_fails_the_install(amber, amber_home, recipes, tmp_path):
    _, done = _install(amber, recipes, tmp_path, "failing_post_link")
    assert done.returncode == 2, done
    assert "post-link script of failing_post_link-1.0-0 failed" in done.stderr
    assert ".failing_post_link-post-link.sh" in done.stderr
    assert "Traceback" not in done.stderr
    assert env_dirs(amber_home) == []  # nothing half-built, nothing marked complete


def test_refused_link_scripts_are_named(amber, recipes, tmp_path):
    env = {"AMBER_LINK_SCRIPTS": "refuse"}
    _, done = _install(amber, recipes, tmp_path, "failing_post_link", env=env)
    assert done.returncode == 0, done
    assert "Not running the post-link script of failing_post_link-1.0-0" in done.stderr
    assert "AMBER_LINK_SCRIPTS=refuse" in done.stderr
    bad = amber("install", "-f", tmp_path / "environment.yml", env={"AMBER_LINK_SCRIPTS": "maybe"})
    assert bad.returncode == 2 and "AMBER_LINK_SCRIPTS='maybe'" in bad.stderr


def test_pre_link_messages_are_shown(amber, recipes, tmp_path):
    _, done = _install(amber, recipes, tmp_path, "pre_link_messages_package")
    assert done.returncode == 0, done
    assert "Lorem ipsum dolor sit amet" in done.stderr
    assert "SPAM!" in done.stderr
    assert done.stderr.index("message-from-pkg.txt") < done.stderr.index("message-from-pkg2.txt")


def test_clobbered_file_goes_to_the_later_linked_package(amber, recipes, tmp_path):
    _, done = _install(amber, recipes, tmp_path, "clobber-b", "clobber-a")
    assert done.returncode == 0, done
    prefix = Path(done.stdout.strip())
    assert (prefix / "bin" / "clobber-test-file").read_text() == "clobber-b\n"
    warning = next(line for line in done.stderr.splitlines() if "ClobberWarning" in line)
    assert "bin/clobber-test-file" in warning
    assert "clobber-a-1.0-0" in warning and "clobber-b-1.0-0" in warning
    assert "has clobber-b-1.0-0's" in warning
    a = json.loads((prefix / "conda-meta" / "clobber-a-1.0-0.json").read_text())
    assert a["files"] == ["__clobbers__/clobber-a/bin/clobber-test-file"]
    assert amber("verify", prefix.name[:12]).returncode == 0


def test_track_features_and_features(amber, recipes, tmp_path):
    # Both builds of each carry a feature: conda takes the highest version, 2.0 of both.
    _, done = _install(amber, recipes, tmp_path, "feature")
    assert done.returncode == 0, done
    meta = Path(done.stdout.strip()) / "conda-meta"
    assert sorted(p.name for p in meta.glob("*.json")) == [
        "feature-2.0-track_feature2_0.json",
        "track_feature-2.0-0.json",
    ]
    # An older one asked for: its track_feature dependency stays the newest (no pin).
    _, older = _install(amber, recipes, tmp_path / "older", "feature 1.0")
    assert older.returncode == 0, older
    meta = Path(older.stdout.strip()) / "conda-meta"
    assert (meta / "feature-1.0-track_feature1_0.json").is_file()


def test_noarch_python(amber, recipes, tmp_path):
    _, done = _install(amber, recipes, tmp_path, "sample_noarch_python")
    assert done.returncode == 0, done
    prefix = Path(done.stdout.strip())
    # The fake python's python_site_packages_path decides where noarch python files go.
    assert (prefix / "lib" / "python3.99t" / "site-packages" / "sample.py").is_file()
