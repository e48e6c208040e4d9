"""PyPI formats: hashed requirements.txt, PEP 751 pylock.toml, CycloneDX SBOM.

Real locks from the CLI against the real PyPI (and the test conda channel for the mixed
lock); exports installed by uv, parsed by ``packaging.pylock``, validated by
cyclonedx-python-lib, and read back into locks with the same ``full_id``.
"""

from __future__ import annotations

import json
import os
import subprocess
import tomllib
from pathlib import Path

import pytest
from helpers import write
from packaging.markers import Marker

from amber import formats
from amber._platform import host_platform
from amber._uv import uv_bin
from amber.errors import AmberError, LockFileError
from amber.formats import ExportOptions, cyclonedx, pylock, requirements
from amber.lock import Lock, PlatformLock
from amber.store import Store

HOST = host_platform()
OTHER = "osx-arm64" if HOST != "osx-arm64" else "linux-64"
ALL = ExportOptions()


def pypi_lock(amber, tmp_path: Path, *lines: str, platforms: tuple[str, ...] = ()) -> Lock:
    spec = write(tmp_path / "spec" / "requirements.txt", "\n".join(lines) + "\n")
    args = [a for p in platforms for a in ("--platform", p)]
    amber("lock", "-f", spec, "--python", "3.11", *args, check=True)
    return Lock.read(spec.parent / "amber.lock")


def uv(*args: object, cache: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, UV_CACHE_DIR=str(cache), UV_NO_CONFIG="1", UV_PYTHON_DOWNLOADS="never")
    env.pop("VIRTUAL_ENV", None)
    proc = subprocess.run([uv_bin(), *map(str, args)], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc


def fresh_venv(tmp_path: Path) -> Path:
    """A new empty venv on a Python 3.11 (the locks' version); its interpreter."""
    venv = tmp_path / "venv"
    uv("venv", "--quiet", "--python", "3.11", venv, cache=tmp_path / "uv-cache")
    return venv / "bin" / "python"


def installed(python: Path) -> dict[str, str]:
    proc = subprocess.run(
        [python, "-c", "import importlib.metadata as m, json; print(json.dumps("
         "{d.metadata['Name'].lower(): d.version for d in m.distributions()}))"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(proc.stdout)


def host_only(lock: Lock, platform: str) -> Lock:
    """The part of ``lock`` for one platform (what a one-platform format can hold)."""
    return Lock(spec=lock.spec, req_id=lock.req_id, platforms={platform: lock.platforms[platform]})


# -- requirements.txt ---------------------------------------------------------------------


def test_requirements_export_read_and_install(amber, tmp_path: Path):
    lock = pypi_lock(amber, tmp_path, "six==1.16.0", "idna", "python-dateutil")
    exported = requirements.export(lock, ALL)
    assert exported.lost == ()
    text = exported.text
    assert f"lock {lock.full_id}" in text.splitlines()[0]
    assert f"# platform: {HOST}\n" in text and "# python: 3.11\n" in text
    body = lock.platforms[HOST]
    pins = [line.split(" ")[0] for line in text.splitlines() if "==" in line]
    assert pins == [f"{p.name}=={p.version}" for p in body.pypi] == sorted(pins)
    for p in body.pypi:
        assert f"{p.name}=={p.version} \\\n    --hash=sha256:{p.sha256}\n" in text
    out = write(tmp_path / "out" / "requirements.lock.txt", text)

    assert requirements.detect(out, text)
    spec_file = tmp_path / "spec" / "requirements.txt"
    assert not requirements.detect(spec_file, spec_file.read_text())
    includes = write(tmp_path / "out" / "with-include.txt", f"-r {spec_file}\n{text}")
    assert not requirements.detect(includes, includes.read_text())  # a spec, not a lock

    back = requirements.read(out, uv_cache=Store().uv_cache)
    assert back.full_id == lock.full_id
    assert list(back.platforms) == [HOST] and back.platforms[HOST].python == "3.11"
    assert list(back.spec.pypi) == [f"{p.name}=={p.version}" for p in body.pypi]
    assert back.spec.python == "3.11" and back.spec.conda == ()

    # What pip's hash-checking mode needs, and what it installs.
    python = fresh_venv(tmp_path)
    uv("pip", "install", "--python", python, "--require-hashes", "--no-deps", "-r", out,
       cache=tmp_path / "uv-cache")  # fmt: skip
    assert {p.name: p.version for p in body.pypi}.items() <= installed(python).items()


def test_read_resolved_looks_files_up_in_the_given_uv_cache(amber, tmp_path: Path):
    lock = pypi_lock(amber, tmp_path, "six==1.16.0")
    out = write(tmp_path / "out" / "requirements.txt", requirements.export(lock, ALL).text)
    cache = tmp_path / "given-uv-cache"
    back = formats.read_resolved(out, uv_cache=cache)
    assert back.full_id == lock.full_id
    assert any(cache.iterdir())  # uv listed the release's files through this cache


def test_requirements_read_errors(amber_home: Path, tmp_path: Path):
    bad_hash = write(
        tmp_path / "bad.txt",
        """
        # python: 3.11
        six==1.16.0 \\
            --hash=sha256:0000000000000000000000000000000000000000000000000000000000000000
        """,
    )
    with pytest.raises(LockFileError, match=r"bad\.txt:2: no file of six 1\.16\.0 .* sha256"):
        requirements.read(bad_hash, uv_cache=Store().uv_cache)
    loose = write(tmp_path / "loose.txt", "six>=1 --hash=sha256:" + "0" * 64 + "\n")
    with pytest.raises(LockFileError, match=r"loose\.txt:1: .* not pinned to one version"):
        requirements.read(loose, uv_cache=Store().uv_cache)
    unknown = write(tmp_path / "opt.txt", "-e .\nsix==1.16.0 --hash=sha256:" + "0" * 64 + "\n")
    with pytest.raises(LockFileError, match=r"opt\.txt:1: unsupported option '-e'"):
        requirements.read(unknown, uv_cache=Store().uv_cache)


def test_requirements_platform_choice_and_foreign_files(amber, tmp_path: Path):
    lock = pypi_lock(amber, tmp_path, "six==1.16.0", "charset-normalizer==3.4.0",
                     platforms=(HOST, OTHER))  # fmt: skip
    wheel = {p: next(w for w in lock.platforms[p].pypi if w.name == "charset-normalizer")
             for p in (HOST, OTHER)}  # fmt: skip
    assert wheel[HOST].sha256 != wheel[OTHER].sha256

    # Default: the host's part; the other platform is reported lost.
    exported = requirements.export(lock, ALL)
    assert f"# platform: {HOST}\n" in exported.text and wheel[HOST].sha256 in exported.text
    assert exported.lost == (
        f"platforms other than {HOST} (requirements.txt holds one; export each with "
        f"--platform): {OTHER}",
    )
    # Another platform on request; read back for that platform (its header says so).
    other = requirements.export(lock, ExportOptions(platforms=(OTHER,)))
    assert wheel[OTHER].sha256 in other.text and wheel[HOST].sha256 not in other.text
    back = requirements.read(write(tmp_path / "other.txt", other.text), uv_cache=Store().uv_cache)
    assert back.full_id == host_only(lock, OTHER).full_id
    with pytest.raises(AmberError, match="no packages for win-64"):
        requirements.export(lock, ExportOptions(platforms=("win-64",)))
    neither = Lock(
        spec=lock.spec,
        req_id=lock.req_id,
        platforms={p: PlatformLock(platform=p, python="3.11") for p in ("linux-aarch64", "win-64")},
    )
    with pytest.raises(AmberError, match=r"linux-aarch64, win-64.*--platform"):
        requirements.export(neither, ALL)

    # A file from another tool (every file's hash on one line, markers, `# via` comments):
    # the host's wheel is picked among the hashes; a line for another OS is skipped.
    sdist_hash = "223217c3d4f82c3ac5e29032b3f1c2eb0fb591b72161f86d93f5719079dae93e"
    foreign = write(
        tmp_path / "compiled.txt",
        f"""
        # This file was autogenerated by uv via the following command:
        #    uv pip compile requirements.in --generate-hashes
        charset-normalizer==3.4.0 \\
            --hash=sha256:{sdist_hash} \\
            --hash=sha256:{wheel[OTHER].sha256} \\
            --hash=sha256:{wheel[HOST].sha256}
            # via -r requirements.in
        colorama==0.4.6 ; sys_platform == 'win32' \\
            --hash=sha256:{"0" * 64}
        """,
    )
    assert requirements.detect(foreign, foreign.read_text())
    (picked,) = requirements.read(foreign, uv_cache=Store().uv_cache).platforms[HOST].pypi
    assert picked == wheel[HOST]


# -- pylock.toml --------------------------------------------------------------------------


def parse_pylock(text: str):
    from packaging.pylock import Pylock

    return Pylock.from_dict(tomllib.loads(text))


def test_pylock_one_platform_round_trip_and_uv_install(amber, tmp_path: Path):
    lock = pypi_lock(amber, tmp_path, "six==1.16.0", "idna", "python-dateutil")
    exported = pylock.export(lock, ALL)
    assert exported.lost == ()
    parsed = parse_pylock(exported.text)
    assert parsed.created_by == "amber" and str(parsed.lock_version) == "1.0"
    assert str(parsed.requires_python) == "==3.11.*"
    assert parsed.environments == [Marker(pylock.platform_marker(HOST))]
    body = lock.platforms[HOST]
    assert [(p.name, str(p.version)) for p in parsed.packages] == [
        (w.name, w.version) for w in body.pypi
    ]
    for package, w in zip(parsed.packages, body.pypi, strict=True):
        (wheel,) = package.wheels
        assert package.marker is None
        assert (wheel.filename, wheel.url, wheel.hashes) == (
            w.file_name, w.url, {"sha256": w.sha256}
        )  # fmt: skip
    assert pylock.export(lock, ALL).text == exported.text  # deterministic

    out = write(tmp_path / "out" / "pylock.toml", exported.text)
    assert pylock.detect(out, exported.text)
    assert not pylock.detect(tmp_path / "pyproject.toml", '[project]\nname = "x"\n')
    back = pylock.read(out)
    assert back.full_id == lock.full_id
    assert back.spec.python == "3.11" and back.spec.platforms == (HOST,)

    python = fresh_venv(tmp_path)
    uv("pip", "install", "--python", python, "--preview-features", "pylock", "-r", out,
       cache=tmp_path / "uv-cache")  # fmt: skip
    assert {w.name: w.version for w in body.pypi}.items() <= installed(python).items()


def test_pylock_two_platforms(amber, tmp_path: Path):
    lock = pypi_lock(amber, tmp_path, "six==1.16.0", "charset-normalizer==3.4.0",
                     platforms=(HOST, OTHER))  # fmt: skip
    exported = pylock.export(lock, ALL)
    parsed = parse_pylock(exported.text)
    assert sorted(map(str, parsed.environments)) == sorted(
        str(Marker(pylock.platform_marker(p))) for p in (HOST, OTHER)
    )
    entries = {}
    for package in parsed.packages:
        (wheel,) = package.wheels
        entries.setdefault(package.name, []).append((package.marker, wheel.filename))
    # The same file everywhere: one entry, no marker. A binary wheel per platform: one
    # entry each, its marker selecting exactly its platform.
    assert entries["six"] == [(None, "six-1.16.0-py2.py3-none-any.whl")]
    by_platform = {p: w.file_name for p in (HOST, OTHER)
                   for w in lock.platforms[p].pypi if w.name == "charset-normalizer"}  # fmt: skip
    assert sorted((str(m), f) for m, f in entries["charset-normalizer"]) == sorted(
        (str(Marker(pylock.platform_marker(p))), f) for p, f in by_platform.items()
    )
    for marker, file_name in entries["charset-normalizer"]:
        for p in (HOST, OTHER):
            assert pylock.evaluate(marker, p, "3.11") == (by_platform[p] == file_name)

    out = write(tmp_path / "out" / "pylock.toml", exported.text)
    back = pylock.read(out)
    assert back.full_id == lock.full_id
    assert list(back.spec.platforms) == sorted((HOST, OTHER))
    one = pylock.export(lock, ExportOptions(platforms=(OTHER,)))
    assert pylock.read(write(tmp_path / "one" / "pylock.toml", one.text)).full_id == (
        host_only(lock, OTHER).full_id
    )

    # uv installs this host's wheel, and refuses a platform the file was not made for.
    python = fresh_venv(tmp_path)
    cache = tmp_path / "uv-cache"
    uv("pip", "install", "--python", python, "--preview-features", "pylock", "-r", out,
       cache=cache)  # fmt: skip
    assert installed(python)["charset-normalizer"] == "3.4.0"
    record = subprocess.run(
        [python, "-c", "import importlib.metadata as m; "
         "print(m.distribution('charset-normalizer').read_text('WHEEL'))"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    tags = {line.split(": ")[1] for line in record.splitlines() if line.startswith("Tag: ")}
    assert any(tag in by_platform[HOST] for tag in tags)
    if HOST != "win-64":
        env = dict(os.environ, UV_CACHE_DIR=str(cache), UV_NO_CONFIG="1")
        refused = subprocess.run(
            [uv_bin(), "pip", "install", "--python", python, "--preview-features", "pylock",
             "--python-platform", "x86_64-pc-windows-msvc", "--dry-run", "-r", out],
            env=env, capture_output=True, text=True,
        )  # fmt: skip
        assert refused.returncode != 0 and "not supported by the lockfile" in refused.stderr


def test_pylock_read_of_a_universal_uv_lock(tmp_path: Path):
    """uv's own pylock.toml (no environments, every wheel of each release): read for this
    host, with the wheel an installer here would take."""
    source = write(tmp_path / "requirements.in", "charset-normalizer==3.4.0\nsix==1.16.0\n")
    out = tmp_path / "pylock.toml"
    uv("pip", "compile", source, "--universal", "--python-version", "3.11", "--format",
       "pylock.toml", "--quiet", "-o", out, cache=tmp_path / "uv-cache")  # fmt: skip
    assert pylock.detect(out, out.read_text())
    lock = pylock.read(out)
    (platform,) = lock.platforms.values()
    assert platform.platform == HOST
    picked = {w.name: w.file_name for w in platform.pypi}
    assert picked["six"] == "six-1.16.0-py2.py3-none-any.whl"
    assert "cp3" in picked["charset-normalizer"] and picked["charset-normalizer"].endswith(".whl")


# -- CycloneDX --------------------------------------------------------------------------------


def validate_cyclonedx(text: str) -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    assert error is None, getattr(error, "data", error).message


def test_cyclonedx_sbom(amber, tmp_path: Path):
    lock = pypi_lock(amber, tmp_path, "six==1.16.0", "charset-normalizer==3.4.0",
                     platforms=(HOST, OTHER))  # fmt: skip
    exported = cyclonedx.export(lock, ALL)
    assert exported.lost == ()
    validate_cyclonedx(exported.text)
    assert cyclonedx.export(lock, ALL).text == exported.text  # deterministic: no timestamp
    bom = json.loads(exported.text)
    assert "timestamp" not in bom["metadata"]
    refs = [c["bom-ref"] for c in bom["components"]]
    assert len(refs) == len(set(refs)) == sum(len(p.pypi) for p in lock.platforms.values())
    by_ref = {c["bom-ref"]: c for c in bom["components"]}
    for p in lock.platforms.values():
        for w in p.pypi:
            c = by_ref[f"{p.platform}/pypi/{w.file_name}"]
            assert c["purl"] == f"pkg:pypi/{w.name}@{w.version}?file_name={w.file_name}"
            assert c["hashes"] == [{"alg": "SHA-256", "content": w.sha256}]
            assert c["externalReferences"][0] == {
                "type": "distribution", "url": w.url,
                "hashes": [{"alg": "SHA-256", "content": w.sha256}],
            }  # fmt: skip


# -- conda + PyPI: what each PyPI format loses ------------------------------------------


def test_mixed_lock_exports_lose_exactly_the_conda_part(amber, conda_channel: Path, tmp_path):
    spec = write(
        tmp_path / "environment.yml",
        f"""
        channels: ['{conda_channel}']
        dependencies:
          - python
          - six
          - libfoo
          - pip:
            - idna==3.10
        """,
    )
    amber("lock", "-f", spec, check=True)
    lock = Lock.read(tmp_path / "amber.lock")
    body = lock.platforms["linux-64"]
    conda_names = ", ".join(c.name for c in body.conda)
    assert conda_names == "libfoo, python, six" and body.provided == {"six": "six"}
    (idna,) = body.pypi

    text = requirements.export(lock, ALL)
    assert text.lost == (
        "conda packages of linux-64 (requirements.txt holds PyPI packages only; install them "
        f"with conda first (they provide six, which the file does not list)): {conda_names}",
    )
    assert [line for line in text.text.splitlines() if not line.startswith("#")] == [
        "idna==3.10 \\",
        f"    --hash=sha256:{idna.sha256}",
    ]
    py = pylock.export(lock, ALL)
    assert py.lost == (
        "conda packages (pylock.toml holds PyPI packages only; install them with conda "
        f"first): linux-64: {conda_names}; they provide the PyPI distributions six",
    )
    parsed = parse_pylock(py.text)
    assert [p.name for p in parsed.packages] == ["idna"]
    assert str(parsed.requires_python) == "==3.11.*"

    sbom = cyclonedx.export(lock, ALL)
    assert sbom.lost == ()
    validate_cyclonedx(sbom.text)
    components = {c["name"]: c for c in json.loads(sbom.text)["components"]}
    assert set(components) == {"libfoo", "python", "six", "idna"}
    for c in body.conda:
        component = components[c.name]
        kind = "conda" if c.file_name.endswith(".conda") else "tar.bz2"
        assert component["purl"] == (
            f"pkg:conda/{c.name}@{c.version}?build={c.build}&channel={c.channel.rsplit('/', 1)[-1]}"
            f"&subdir={c.subdir}&type={kind}"
        )
        assert sorted(component["hashes"], key=lambda h: h["alg"]) == [
            {"alg": "MD5", "content": c.md5},
            {"alg": "SHA-256", "content": c.sha256},
        ]
        assert component["externalReferences"][0]["url"] == c.url
    assert components["python"]["licenses"] == [{"license": {"id": "PSF-2.0"}}]
    assert {"name": "amber:provides_pypi", "value": "six"} in components["six"]["properties"]
