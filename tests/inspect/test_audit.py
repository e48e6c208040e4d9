"""``amber audit``: real old PyPI releases against the PyPA's real OSV records, conda
packages matched through the PyPI distribution they provide or a curated conda advisory,
licenses, SARIF checked against the official schema, and crafted records refused cleanly."""

from __future__ import annotations

import http.server
import json
import socket
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest
import yaml
from condapkgs import (
    CondaPackage,
    build_channel,
    conda_from_wheel,
    download_wheel,
    host_python_package,
)
from helpers import SHARED as DATA
from helpers import assert_clear_error, run_cli, write
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from packaging.utils import canonicalize_name

from amber.errors import AuditError
from amber.inspect.audit import OsvDatabase
from amber.lock import Lock

SHARED = DATA / "advisories" / "pypa-osv"
SARIF_SCHEMA = Path(__file__).resolve().parents[1] / "data" / "sarif" / "sarif-schema-2.1.0.json"


def _records() -> list[dict]:
    return [yaml.safe_load(p.read_text()) for p in sorted(SHARED.rglob("*.yaml"))]


def _expected(lock: Lock) -> set[tuple[str, str, str]]:
    """(package, version, advisory id) for every record whose explicit ``versions`` list
    names a locked PyPI package's version: an oracle independent of range evaluation."""
    out = set()
    for p in lock.platforms.values():
        for w in p.pypi:
            for record in _records():
                if record.get("withdrawn"):
                    continue  # withdrawn: not an advisory any more (pip-audit skips them too)
                for entry in record.get("affected") or []:
                    same = canonicalize_name(entry["package"]["name"]) == canonicalize_name(w.name)
                    if same and w.version in (entry.get("versions") or []):
                        out.add((w.name, w.version, record["id"]))
    return out


def _found(report: dict) -> set[tuple[str, str, str]]:
    return {
        (f["package"], f["version"], f["rule"].split(":", 1)[1])
        for f in report["findings"]
        if f["rule"].startswith("vulnerability:")
    }


@pytest.mark.parametrize(
    ("pins", "vulnerable"),
    [
        ("requests==2.19.1\nurllib3==1.23\npyyaml==5.3\n", True),
        ("urllib3==1.24.1\n", True),
        ("requests==2.32.4\nurllib3==2.5.0\npyyaml==6.0.2\nidna==3.10\n", False),
    ],
)
def test_audit_finds_exactly_the_advisories_whose_ranges_cover_the_locked_versions(
    amber, tmp_path: Path, pins: str, vulnerable: bool
):
    assert len(_records()) >= 100  # the shared data set is there
    spec = write(tmp_path / "requirements.txt", pins)
    amber("lock", "-f", spec, check=True)
    lock = Lock.read(tmp_path / "amber.lock")
    result = amber("audit", "--osv", SHARED, "--format", "json", cwd=tmp_path)
    assert "Traceback" not in result.stderr
    report = json.loads(result.stdout)
    expected = _expected(lock)
    assert _found(report) == expected
    assert bool(expected) is vulnerable
    assert result.returncode == (1 if vulnerable else 0), result
    if vulnerable:
        purls = {f["purl"].split("?")[0] for f in report["findings"]}
        assert all(p.startswith("pkg:pypi/") for p in purls)
    if "requests==2.19.1" in pins:
        # PYSEC-2018-28: "before 2.20.0"; fixed in the first release after 2.19.1 that fixes it
        finding = next(f for f in report["findings"] if f["rule"].endswith("PYSEC-2018-28"))
        assert finding["details"]["fixed"] == "2.20.0"
        assert finding["purl"].startswith("pkg:pypi/requests@2.19.1")
        text = amber("audit", "--osv", SHARED, cwd=tmp_path)
        assert text.returncode == 1 and "PYSEC-2018-28" in text.stdout
        assert text.stdout.splitlines()[0].split() == [
            "PACKAGE", "VERSION", "KIND", "LICENSE", "FINDINGS"
        ]  # fmt: skip
        ignored = [i for _, _, i in expected]
        flags = [x for i in ignored for x in ("--ignore", i)]
        waived = amber("audit", "--osv", SHARED, "--format", "json", *flags, cwd=tmp_path)
        assert waived.returncode == 0, waived
        assert all(f["waived_by"] for f in json.loads(waived.stdout)["findings"])


def test_zip_of_records_reads_as_the_directory(amber, tmp_path: Path):
    archive = tmp_path / "osv.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(SHARED.rglob("*.yaml")):
            zf.write(path, path.relative_to(SHARED).as_posix())
    from_dir = OsvDatabase.load(SHARED)
    from_zip = OsvDatabase.load(archive)
    assert sorted(a.id for a in from_zip.advisories) == sorted(a.id for a in from_dir.advisories)
    assert [a.id for a, _ in from_zip.matching("PyPI", "URLLIB3", "1.24.1")] == [
        a.id for a, _ in from_dir.matching("PyPI", "urllib3", "1.24.1")
    ]


def _record(ident: str, name: str, events: list[dict], **extra: object) -> dict:
    return {
        "id": ident,
        "affected": [
            {"package": {"name": name, "ecosystem": extra.pop("ecosystem", "PyPI")},
             "ranges": [{"type": "ECOSYSTEM", "events": events}]}
        ],
        **extra,
    }  # fmt: skip


def test_range_events_and_severity_as_the_osv_spec_reads_them():
    db = OsvDatabase.from_records(
        "crafted",
        [
            ("a", _record("LAST-1", "pkg", [{"introduced": "1.0"}, {"last_affected": "1.5"}])),
            ("b", _record("TWO-1", "pkg", [{"introduced": "0"}, {"fixed": "0.5"},
                                           {"introduced": "2.0"}, {"fixed": "2.1"}],
                          severity=[{"type": "CVSS_V3",
                                     "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}])),
            ("c", _record("GHSA-1", "pkg", [{"introduced": "0"}],
                          database_specific={"severity": "MODERATE"})),
            ("d", _record("V4-1", "pkg", [{"introduced": "3.0"}, {"fixed": "3.1"}],
                          severity=[{"type": "CVSS_V4", "score": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/"
                                     "UI:N/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N"}])),
        ],
    )  # fmt: skip

    def ids(version: str) -> list[str]:
        return [a.id for a, _ in db.matching("PyPI", "PKG", version)]

    assert ids("0.4") == ["GHSA-1", "TWO-1"]
    assert ids("0.5") == ["GHSA-1"]
    assert ids("1.5") == ["GHSA-1", "LAST-1"]
    assert ids("1.5.1") == ["GHSA-1"]
    assert ids("2.0.1") == ["GHSA-1", "TWO-1"]
    assert ids("3.0") == ["GHSA-1", "V4-1"]
    levels = {a.id: (a.level, a.score) for a in db.advisories}
    assert levels["TWO-1"] == ("critical", 9.8)
    assert levels["GHSA-1"] == ("medium", None)
    assert levels["V4-1"][0] == "medium" and levels["LAST-1"] == ("unknown", None)
    withdrawn = _record("GONE-1", "pkg", [{"introduced": "0"}], withdrawn="2023-11-08T00:54:24Z")
    assert OsvDatabase.from_records("w", [("w", withdrawn)]).matching("PyPI", "pkg", "1.0") == []
    two = db.advisories[1]
    assert dict(db.matching("PyPI", "pkg", "0.4"))[two] == "0.5"
    assert dict(db.matching("PyPI", "pkg", "2.0.1"))[two] == "2.1"


@pytest.fixture
def provided_channel(tmp_path: Path, wheel_cache_dir: Path) -> Path:
    requests = conda_from_wheel(
        download_wheel("requests==2.19.1", wheel_cache_dir,
                       filename="requests-2.19.1-py2.py3-none-any.whl"),
        depends=("python",),
    )  # fmt: skip
    return build_channel(
        tmp_path / "channel",
        [
            host_python_package(),
            requests,
            CondaPackage(name="gplthing", version="1.0", license="GPL-3.0-or-later"),
            CondaPackage(name="mitthing", version="2.0", license="MIT License"),
            CondaPackage(name="mystery", version="0.1", license=None),
            CondaPackage(name="libfoo", version="1.0", license="BSD-3-Clause"),
        ],
    )


def test_conda_packages_match_through_provided_and_curated_conda_advisories(
    amber, tmp_path: Path, provided_channel: Path
):
    spec = write(
        tmp_path / "environment.yml",
        f"""
        channels: ['{provided_channel}']
        dependencies:
          - python
          - requests
          - gplthing
          - mitthing
          - mystery
          - libfoo
          - pip:
            - idna==3.10
        """,
    )
    amber("lock", "-f", spec, check=True)
    lock = Lock.read(tmp_path / "amber.lock")
    assert lock.platforms["linux-64"].provided.get("requests") == "requests"
    osv = tmp_path / "osv"
    for path in sorted(SHARED.rglob("*.yaml")):
        target = osv / path.relative_to(SHARED)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
    # A curated advisory for a conda package no PyPI name covers, keyed by its conda name.
    write(osv / "conda" / "AMBER-CONDA-1.json", json.dumps(
        _record("AMBER-CONDA-1", "libfoo", [{"introduced": "0"}, {"fixed": "2.0"}],
                ecosystem="conda", summary="libfoo before 2.0 reads past its buffer",
                database_specific={"severity": "HIGH"})))  # fmt: skip

    result = amber("audit", "--osv", osv, "--format", "json", "--fail-on", "critical",
                   cwd=tmp_path)  # fmt: skip
    report = json.loads(result.stdout)
    found = _found(report)
    via_requests = {i for n, v, i in found if n == "requests"}
    pypa = {
        r["id"]
        for r in _records()
        for e in r["affected"]
        if e["package"]["name"] == "requests" and "2.19.1" in (e.get("versions") or [])
    }
    assert via_requests == pypa and pypa
    assert ("libfoo", "1.0", "AMBER-CONDA-1") in found
    requests_finding = next(f for f in report["findings"] if f["package"] == "requests")
    assert requests_finding["kind"] == "conda"
    assert requests_finding["details"]["through"] == "PyPI requests"
    assert requests_finding["purl"].startswith("pkg:conda/requests@2.19.1?")
    # PYSEC records without a score are of unknown severity: they fail any --fail-on.
    assert result.returncode == 1
    libfoo = next(f for f in report["findings"] if f["package"] == "libfoo")
    assert libfoo["severity"] == "warning"  # high < critical

    licenses = {p["name"]: p["license"] for p in report["packages"]}
    assert licenses["gplthing"] == "GPL-3.0-or-later"
    assert licenses["mitthing"] == "MIT"
    assert licenses["mystery"] == "unknown"
    assert licenses["idna"] == "unknown"  # a lock alone: its wheel's metadata is not here

    sarif = json.loads(amber("audit", "--osv", osv, "--format", "sarif", cwd=tmp_path).stdout)
    jsonschema.validate(sarif, json.loads(SARIF_SCHEMA.read_text()))
    results = sarif["runs"][0]["results"]
    assert {r["ruleId"] for r in results} == {f["rule"] for f in report["findings"]}
    assert all(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "amber.lock"
               for r in results)  # fmt: skip
    rules = {r["id"]: r for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert rules["vulnerability:AMBER-CONDA-1"]["properties"]["security-severity"] == "7.0"

    # The policy beside the lock holds too: its ignores, its fail-on, its license rules.
    write(tmp_path / "amber-policy.toml", """
        [vulnerabilities]
        fail-on = "critical"
        ignore = [{ id = "AMBER-CONDA-1", reason = "not reachable from our code" }]
        [licenses]
        deny = ["GPL-*"]
        reason = "legal's list"
        """)  # fmt: skip
    governed = json.loads(amber("audit", "--osv", osv, "--format", "json", cwd=tmp_path).stdout)
    libfoo = next(f for f in governed["findings"] if f["package"] == "libfoo")
    assert "not reachable from our code" in (libfoo["waived_by"] or "")
    gpl = [f for f in governed["findings"] if f["package"] == "gplthing"]
    assert gpl and gpl[0]["rule"] == "license" and gpl[0]["severity"] == "error", gpl
    assert not [f for f in governed["findings"] if f["package"] == "mitthing"]


def test_installed_env_and_its_bundle_are_audited_with_wheel_licenses(amber, tmp_path: Path):
    spec = write(tmp_path / "requirements.txt", "urllib3==1.24.1\n")
    installed = amber("install", "-f", spec, "-q", check=True)
    env = installed.stdout.strip().splitlines()[-1]
    result = amber("audit", env, "--osv", SHARED, "--format", "json", cwd=tmp_path)
    assert result.returncode == 1, result
    report = json.loads(result.stdout)
    (urllib3,) = report["packages"]
    assert (urllib3["license"], urllib3["license_source"]) == ("MIT", "metadata")
    assert _found(report) == _expected(Lock.read(Path(env) / ".amber" / "amber.lock"))

    bundle = tmp_path / "bundle.tar"
    amber("pack", "--packages", env, "-o", bundle, check=True)
    packed = amber("audit", bundle, "--osv", SHARED, "--format", "json", cwd=tmp_path)
    assert packed.returncode == 1, packed
    assert _found(json.loads(packed.stdout)) == _found(report)


class _OsvApi(http.server.BaseHTTPRequestHandler):
    """The OSV API's two calls (``/v1/querybatch``, ``/v1/vulns/ID``) over records in memory."""

    db: OsvDatabase
    raw: dict[str, dict]

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        results = [
            {"vulns": [{"id": a.id} for a, _ in
                       self.db.matching("PyPI", q["package"]["name"], q["version"])]}
            for q in body["queries"]
        ]  # fmt: skip
        self._send({"results": results})

    def do_GET(self) -> None:  # noqa: N802
        ident = self.path.rsplit("/", 1)[-1]
        self._send(self.raw[ident]) if ident in self.raw else self.send_error(404)

    def _send(self, data: object) -> None:
        payload = json.dumps(data, default=str).encode()  # YAML read dates as datetimes
        self.send_response(200)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def osv_api() -> Iterator[str]:
    raw = {r["id"]: r for r in _records()}
    handler = type("Handler", (_OsvApi,), {"db": OsvDatabase.load(SHARED), "raw": raw})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_osv_api_answers_as_the_directory_does(amber, tmp_path: Path, osv_api: str):
    spec = write(tmp_path / "requirements.txt", "urllib3==1.24.1\n")
    amber("lock", "-f", spec, check=True)
    online = amber("audit", "--osv", osv_api, "--format", "json", cwd=tmp_path)
    offline = amber("audit", "--osv", SHARED, "--format", "json", cwd=tmp_path)
    assert online.returncode == offline.returncode == 1, online
    assert _found(json.loads(online.stdout)) == _found(json.loads(offline.stdout))
    assert _found(json.loads(online.stdout))


def _osv_dev_reachable() -> bool:
    try:
        socket.create_connection(("api.osv.dev", 443), timeout=3).close()
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _osv_dev_reachable(), reason="api.osv.dev is not reachable from here")
def test_the_real_osv_api_finds_the_pypa_advisories(amber, tmp_path: Path):
    spec = write(tmp_path / "requirements.txt", "urllib3==1.24.1\n")
    amber("lock", "-f", spec, check=True)
    online = amber("audit", "--format", "json", cwd=tmp_path)
    assert online.returncode == 1, online
    # The live database has more (GHSA records, later advisories); it has these too.
    assert _expected(Lock.read(tmp_path / "amber.lock")) <= _found(json.loads(online.stdout))


def test_bad_sources_and_records_are_clear_errors(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("AMBER_HOME", str(tmp_path / "home"))
    write(tmp_path / "requirements.txt", "six==1.16.0\n")
    out = run_cli(["lock", "-f", tmp_path / "requirements.txt"], tmp_path, seconds=120)
    assert out.code == 0, out
    absent = run_cli(["audit", "--osv", tmp_path / "nowhere"], tmp_path)
    assert_clear_error(absent, "nowhere", "not a directory or zip of OSV records")
    bad = write(tmp_path / "osv" / "pkg" / "BAD-1.yaml", "id: BAD-1\naffected: 3\n")
    broken = run_cli(["audit", "--osv", bad.parent.parent], tmp_path)
    assert_clear_error(broken, "BAD-1.yaml", "'affected' must be a list")
    events = "[{type: ECOSYSTEM, events: [{introduced: 'not a version!'}]}]"
    write(
        bad,
        f"id: BAD-1\naffected:\n- package: {{name: six, ecosystem: PyPI}}\n  ranges: {events}\n",
    )
    assert_clear_error(run_cli(["audit", "--osv", bad.parent.parent], tmp_path), "not a version")
    offline = run_cli(["audit", "--osv", "http://127.0.0.1:9/"], tmp_path)
    assert_clear_error(offline, "127.0.0.1:9", "--osv DIR|ZIP")


_values = st.one_of(
    st.none(), st.integers(), st.text(max_size=12), st.lists(st.text(max_size=6), max_size=3),
    st.dictionaries(st.sampled_from(["introduced", "fixed", "last_affected", "limit", "x"]),
                    st.one_of(st.text(max_size=8), st.sampled_from(["0", "1.0", "2.0rc1"])),
                    max_size=3),
)  # fmt: skip
_records_st = st.fixed_dictionaries(
    {"id": st.one_of(st.text(max_size=10), st.integers())},
    optional={
        "affected": st.one_of(_values, st.lists(st.fixed_dictionaries(
            {"package": st.one_of(_values, st.fixed_dictionaries(
                {"name": st.sampled_from(["pkg", "Pkg", 3]), "ecosystem": st.sampled_from(
                    ["PyPI", "conda", "Debian:11", None])}))},
            optional={"ranges": st.one_of(_values, st.lists(st.fixed_dictionaries(
                {"type": st.sampled_from(["ECOSYSTEM", "SEMVER", "GIT", 1])},
                optional={"events": st.one_of(_values, st.lists(_values, max_size=4))}),
                max_size=2)), "versions": _values}), max_size=2)),
        "severity": st.one_of(_values, st.lists(st.fixed_dictionaries(
            {"type": st.sampled_from(["CVSS_V3", "CVSS_V4", "Ubuntu"]),
             "score": st.one_of(st.text(max_size=20), st.sampled_from(
                 ["CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "CVSS:3.1/AV:N"]))}),
            max_size=2)),
        "database_specific": _values,
        "aliases": _values,
        "references": _values,
    },
)  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(record=_records_st, version=st.sampled_from(["0.1", "1.0", "1.5", "2.0", "x!y"]))
def test_crafted_records_are_read_or_refused_naming_the_file(record: dict, version: str):
    try:
        db = OsvDatabase.from_records("crafted", [("crafted/REC.json", record)])
    except AuditError as exc:
        assert "crafted/REC.json" in str(exc) and "\n" not in str(exc)
        return
    for ecosystem in ("PyPI", "conda"):
        for advisory, fixed in db.matching(ecosystem, "pkg", version):
            assert advisory.level in ("low", "medium", "high", "critical", "none", "unknown")
            assert isinstance(fixed, str)
