"""Channel names resolved exactly as conda resolves them (``conda.models.channel``), in the
spec a reader makes: real environment.yml files from conda, conda-lock and pixi, read
without any network (the resolved URLs, not a solve)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers import SHARED, write

from amber import _auth
from amber.channels import CondaConfig
from amber.errors import ConfigError
from amber.spec import read_spec

REAL = SHARED / "real" / "environment-yml"
needs_real = pytest.mark.skipif(not REAL.is_dir(), reason="../shared/data is not beside us")

CF = "https://conda.anaconda.org/conda-forge"
MAIN, R = "https://repo.anaconda.com/pkgs/main", "https://repo.anaconda.com/pkgs/r"
MSYS2 = "https://repo.anaconda.com/pkgs/msys2"


def _real(name: str, tmp_path: Path) -> Path:
    """A real file; a `category:` key (conda-lock's, an unknown-key warning in conda, made
    one by another item of this issue) is left out of the copy, nothing else."""
    text = (REAL / name).read_text()
    if "\ncategory:" in "\n" + text:
        lines = [line for line in text.splitlines() if not line.startswith("category:")]
        return write(tmp_path / name, "\n".join(lines) + "\n")
    return Path(shutil.copy(REAL / name, tmp_path / name))


@needs_real
@pytest.mark.parametrize(
    ("name", "channels"),
    [
        ("crates__pixi_utils__tests__environment_yamls__crnnft.yml", (MAIN, R)),
        ("crates__pixi_utils__tests__environment_yamls__test_env.yml", (MAIN, R, CF)),
        ("example__zlib__environment.yml", (CF, MAIN, R)),
        ("tests__env__support__env_with_dependencies.yml", (CF, MAIN, R)),
        ("tests__test-channel-inversion__environment.yaml", (CF, MAIN, R)),
        ("tests__test-input-hash-zlib__environment.yml", (CF, MAIN, R)),
        ("tests__test-pypi-resolve-gh449__environment.yml", (MAIN, R)),
        ("tests__zlib__environment.yml", (CF, MAIN, R)),
        ("environments__dev-environment.yaml", (CF,)),
        ("environments__python-3.14.yaml", (CF,)),
        ("test-data__environments__conda_lock_dev.environment.yaml", (CF,)),
        ("tests__env__support__valid_keys.yml", ("https://conda.anaconda.org/anaconda",)),
    ],
)
def test_real_files_with_defaults_and_nodefaults(tmp_path, name, channels):
    assert read_spec(_real(name, tmp_path)).channels == channels


@needs_real
def test_real_file_with_token_variables_keeps_them_unexpanded(tmp_path):
    """`https://localhost/t/${CONDA_TOKEN}/stable`: expanded only when fetched."""
    spec = read_spec(_real("tests__env__support__channels_with_envvars.yml", tmp_path))
    assert spec.channels == (
        "https://localhost/t/${CONDA_TOKEN}/stable", "https://localhost/t/${OTHER_KEY}/stable",
        CF, MAIN, R,
    )  # fmt: skip
    # A lock records the variable (a fresh process expands it to install), never a value.
    assert spec.canonical()["channels"][:2] == list(spec.channels[:2])


@needs_real
def test_nodefaults_leaves_out_the_configured_channels(tmp_path):
    """`conda env create`: the file's channels, then `.condarc`'s `channels` unless the file
    says `nodefaults`."""
    config = CondaConfig(channels=("defaults", "bioconda"))
    with_defaults = read_spec(
        _real("example__zlib__environment.yml", tmp_path), channel_config=config
    )
    assert with_defaults.channels == (CF, MAIN, R, "https://conda.anaconda.org/bioconda")
    without = read_spec(_real("environments__python-3.14.yaml", tmp_path), channel_config=config)
    assert without.channels == (CF,)


def test_default_channels_channel_alias_custom_channels_and_multichannels(tmp_path):
    config = CondaConfig(
        channel_alias="https://u:pw@mirror.example/t/tk-9/conda",
        default_channels=("main", "https://other.example/pkgs/extra"),
        custom_channels={"private": "https://conda.corp.example"},  # type: ignore[arg-type]
        custom_multichannels={"team": ("conda-forge", "private")},  # type: ignore[arg-type]
    )
    spec = write(
        tmp_path / "environment.yml",
        """
        channels: [team, defaults, private/label/dev, pkgs/extra, bioconda, ./local, nodefaults]
        dependencies: [zlib]
        """,
    )
    (tmp_path / "local").mkdir()
    # Credentials in channel_alias go to memory (amber._auth), the spec keeps the clean URL.
    alias = "https://mirror.example/conda"
    assert read_spec(spec, channel_config=config).channels == (
        f"{alias}/conda-forge",
        f"{alias}/private",  # a multichannel's names go under channel_alias, as in conda
        f"{alias}/main",
        "https://other.example/pkgs/extra",
        "https://conda.corp.example/private/label/dev",
        f"{alias}/bioconda",
        (tmp_path / "local").as_uri(),
    )
    assert _auth.remembered()[f"{alias}/bioconda/"] == _auth.Secret("u", "pw", "tk-9")
    # The canonical form, and so a lock, never holds the credentials.
    assert "pw" not in str(read_spec(spec, channel_config=config).canonical())
    assert "tk-9" not in str(read_spec(spec, channel_config=config).canonical())


def test_defaults_gain_msys2_for_windows_targets(tmp_path):
    spec = write(
        tmp_path / "environment.yml",
        "channels: [defaults]\nplatforms: [linux-64, win-64]\ndependencies: [zlib]\n",
    )
    assert read_spec(spec).channels == (MAIN, R, MSYS2)
    assert CondaConfig(default_channels=(MAIN,)).channel_urls(
        ["defaults"], platforms=["win-64"]
    ) == (MAIN,)


def test_a_spec_without_conda_packages_gets_no_configured_channel(tmp_path):
    config = CondaConfig(channels=("conda-forge",))
    spec = write(tmp_path / "requirements.txt", "six\n")
    assert read_spec(spec, channel_config=config).channels == ()
    assert not read_spec(spec, channel_config=config).is_conda


def test_denied_channel_is_refused_naming_the_setting(tmp_path):
    config = CondaConfig(
        denylist_channels=("conda-forge",),
        origins={"denylist_channels": "/etc/conda/.condarc: denylist_channels"},  # type: ignore[arg-type]
    )
    spec = write(tmp_path / "environment.yml", "channels: [conda-forge]\ndependencies: [zlib]\n")
    with pytest.raises(ConfigError, match=r"conda-forge.*denylist_channels.*/etc/conda/.condarc"):
        read_spec(spec, channel_config=config)
