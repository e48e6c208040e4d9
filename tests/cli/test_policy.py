"""The policy where it holds, through the real ``amber`` command: ``lock`` (within it, the
lock records it), ``lock --check`` and ``policy check`` (exit 1 for CI), ``install`` and
``run`` (refused, exit 2, every finding named), waivers everywhere, settings that name it."""

from __future__ import annotations

import json
from pathlib import Path

import condapkgs
import pytest
from helpers import conda_spec, write

from amber.lock import Lock

P = condapkgs.CondaPackage

DENY_GPL = """\
[licenses]
deny = ["GPL-*"]
unknown = "warn"
reason = "copyleft needs legal review"
"""


@pytest.fixture(scope="module")
def channel(tmp_path_factory: pytest.TempPathFactory) -> str:
    root = tmp_path_factory.mktemp("licensed") / "chan"
    condapkgs.build_channel(
        root,
        [
            P("gpltool", "1.0", license="GPL-3.0-only", files={"share/gpl.txt": b"gpl\n"}),
            P("mittool", "1.0", license="MIT", files={"share/mit.txt": b"mit\n"}),
            P("mystery", "1.0", license=None, files={"share/m.txt": b"?\n"}),
        ],
    )
    return root.as_uri()


def _project(tmp_path: Path, channel: str, amber, *deps: str) -> Path:
    spec = conda_spec(tmp_path, channel, *deps)
    amber("lock", "-f", spec, "-p", "linux-64", check=True)
    return spec


def test_lock_check_and_policy_check_report_findings(tmp_path: Path, channel: str, amber) -> None:
    spec = _project(tmp_path, channel, amber, "gpltool", "mittool", "mystery")
    write(tmp_path / "amber-policy.toml", DENY_GPL)
    checked = amber("lock", "--check", "-f", spec)
    assert checked.returncode == 1, checked
    assert "gpltool 1.0 is licensed GPL-3.0-only" in checked.stderr, checked
    assert "copyleft needs legal review" in checked.stderr and "Traceback" not in checked.stderr
    report = amber("policy", "check", "--format", "json", tmp_path / "amber.lock")
    assert report.returncode == 1, report
    found = {(f["rule"], f["package"], f["severity"]) for f in json.loads(report.stdout)}
    assert found == {("license", "gpltool", "error"), ("license", "mystery", "warning")}
    purls = [f["purl"] for f in json.loads(report.stdout)]
    assert any(p.startswith("pkg:conda/gpltool@1.0?build=0&channel=") for p in purls)
    clean = amber("policy", "check", tmp_path / "amber.lock", "--policy", tmp_path / "none.toml")
    assert clean.returncode == 2 and "no such policy file" in clean.stderr, clean


def test_install_and_run_refuse_then_a_waiver_lets_it_pass(
    tmp_path: Path, channel: str, amber
) -> None:
    spec = _project(tmp_path, channel, amber, "gpltool")
    policy = write(tmp_path / "amber-policy.toml", DENY_GPL)
    for command in (("install", "-f", spec), ("run", "-f", spec, "--", "true")):
        refused = amber(*command)
        assert refused.returncode == 2, refused
        assert "refuses this lock" in refused.stderr and "gpltool" in refused.stderr, refused
        assert "Traceback" not in refused.stderr
    waiver = '[[waivers]]\nrule = "license"\npackage = "gpltool"\nreason = "LEGAL-7"\n'
    policy.write_text(DENY_GPL + waiver + "expires = 2999-01-01\n")
    assert amber("install", "-f", spec).returncode == 0
    report = amber("policy", "check", tmp_path / "amber.lock")
    assert report.returncode == 0, report
    assert "waived: [license] gpltool 1.0" in report.stdout and "LEGAL-7" in report.stdout
    policy.write_text(DENY_GPL + waiver + "expires = 2020-01-01\n")
    expired = amber("install", "-f", spec)
    assert expired.returncode == 2 and "expired on 2020-01-01" in expired.stderr, expired


def test_lock_within_the_policy_records_it(tmp_path: Path, channel: str, amber) -> None:
    spec = conda_spec(tmp_path, channel, "mittool")
    ban = '[[bans]]\nid = "no-mit"\nname = "mittool"\nreason = "replaced by gpltool"\n'
    write(tmp_path / "org.toml", ban)
    refused = amber(
        "lock", "-f", spec, "-p", "linux-64", env={"AMBER_POLICY": str(tmp_path / "org.toml")}
    )
    assert refused.returncode == 2, refused
    assert "the spec asks for mittool" in refused.stderr and "ban `no-mit`" in refused.stderr
    settings = write(tmp_path / "settings.toml", f'policy = "{tmp_path / "org.toml"}"\n')
    again = amber("lock", "-f", spec, "-p", "linux-64", env={"AMBER_CONFIG": str(settings)})
    assert again.returncode == 2 and "ban `no-mit`" in again.stderr, again
    write(tmp_path / "amber-policy.toml", DENY_GPL)
    amber("lock", "-f", spec, "-p", "linux-64", check=True)
    assert Lock.read(tmp_path / "amber.lock").policy is not None


def test_a_malformed_policy_is_named_with_its_line(tmp_path: Path, channel: str, amber) -> None:
    spec = conda_spec(tmp_path, channel, "mittool")
    write(tmp_path / "amber-policy.toml", '[licenses]\nallow = ["MIT"]\n\n[[bans]]\nname = "x"\n')
    result = amber("lock", "-f", spec, "-p", "linux-64")
    assert result.returncode == 2, result
    assert f"{tmp_path / 'amber-policy.toml'}:4: [[bans]] #1: 'reason' is required" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "amber.lock").exists()


def test_add_resolves_within_the_policy(tmp_path: Path, channel: str, amber) -> None:
    spec = _project(tmp_path, channel, amber, "mittool")
    before = spec.read_bytes()
    write(tmp_path / "amber-policy.toml", '[[bans]]\nname = "gpltool"\nreason = "copyleft"\n')
    refused = amber("add", "gpltool", "-f", spec)
    assert refused.returncode == 2, refused
    assert "the spec asks for gpltool" in refused.stderr and "ban `gpltool`" in refused.stderr
    assert spec.read_bytes() == before  # nothing half-done
