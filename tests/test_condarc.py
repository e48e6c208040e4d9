"""``.condarc`` found and merged where and as conda does, ``$CONDA_*`` over it, Amber's own
TOML settings file beside it (``amber.condarc``). Every file lives in a temp dir."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import conda_environ, conda_spec, write
from hypothesis import given, settings
from hypothesis import strategies as st

from amber import condarc
from amber.api import Session
from amber.api.locking import configured_priority
from amber.channels import DEFAULT_CHANNEL_ALIAS, DEFAULT_CHANNELS, CondaConfig
from amber.errors import ConfigError
from amber.spec import Spec


def _load(home: Path, **extra: str) -> CondaConfig:
    return condarc.load(conda_environ(home, **extra), cwd=home)


def test_without_any_file_the_settings_are_condas_defaults(tmp_path):
    config = _load(tmp_path)
    assert config.channels == ()
    assert config.channel_alias == DEFAULT_CHANNEL_ALIAS
    assert config.default_channels == DEFAULT_CHANNELS
    assert config.channel_priority is None and config.ssl_verify is True
    assert config.origin("channel_alias") == "default"


def test_files_are_found_on_condas_search_path_and_merged_in_its_order(tmp_path):
    """Lowest first: XDG, ~/.config/conda, ~/.conda, ~/.condarc, $CONDA_PREFIX, $CONDARC.
    A single value: the last wins; a list: concatenated, the later file's entries first."""
    home, prefix = tmp_path / "home", tmp_path / "prefix"
    xdg = write(
        home / ".config" / "conda" / "condarc", "channels: [xdg]\nchannel_alias: https://xdg\n"
    )
    dotconda = write(home / ".conda" / "condarc.d" / "a.yml", "channels: [dotconda]\n")
    user = write(home / ".condarc", "channels: [user]\nchannel_priority: flexible\n")
    env = write(prefix / ".condarc", "channels: [prefix]\nchannel_alias: https://prefix\n")
    extra = write(tmp_path / "extra.yml", "channels: [condarc_var]\nchannel_priority: strict\n")
    environ = conda_environ(home, CONDA_PREFIX=str(prefix), CONDARC=str(extra))
    assert condarc.search_path(environ) == [xdg, dotconda, user, env, extra]
    config = _load(home, CONDA_PREFIX=str(prefix), CONDARC=str(extra))
    assert config.channels == ("condarc_var", "prefix", "user", "dotconda", "xdg")
    assert config.channel_alias == "https://prefix"
    assert config.channel_priority == "strict"
    assert config.origin("channel_alias") == f"{env}: channel_alias"
    assert config.origin("channels").startswith(f"{extra}: channels; {env}: channels")


def test_conda_variables_override_the_files(tmp_path):
    write(tmp_path / ".condarc", "channels: [file]\nchannel_priority: strict\nssl_verify: true\n")
    config = _load(
        tmp_path, CONDA_CHANNELS="a, b", CONDA_CHANNEL_PRIORITY="disabled",
        CONDA_SSL_VERIFY="false", CONDA_CHANNEL_ALIAS="https://mirror.example/conda",
    )  # fmt: skip
    assert config.channels == ("a", "b", "file")
    assert config.channel_priority == "disabled" and config.ssl_verify is False
    assert config.channel_alias == "https://mirror.example/conda"
    assert config.origin("channel_priority") == "$CONDA_CHANNEL_PRIORITY"


def test_a_final_key_is_not_overridden_by_later_sources(tmp_path):
    write(tmp_path / ".config" / "conda" / ".condarc", "channel_alias: https://locked  #!final\n")
    write(tmp_path / ".condarc", "channel_alias: https://user\n")
    assert _load(tmp_path, CONDA_CHANNEL_ALIAS="https://var").channel_alias == "https://locked"


def test_maps_merge_key_by_key_and_every_key_is_read(tmp_path):
    write(
        tmp_path / ".conda" / ".condarc",
        """
        custom_channels: {a: "https://one", b: "https://two"}
        proxy_servers: {https: "http://proxy:3128"}
        """,
    )
    write(
        tmp_path / ".condarc",
        """
        custom_channels: {b: "https://three"}
        custom_multichannels: {team: [a, "https://x/y"]}
        whitelist_channels: [conda-forge]
        denylist_channels: [bad]
        ssl_verify: /etc/ssl/corp.pem
        default_channels: [main]
        """,
    )
    config = _load(tmp_path)
    assert dict(config.custom_channels) == {
        "pkgs/pro": "https://repo.anaconda.com", "a": "https://one", "b": "https://three",
    }  # fmt: skip
    assert dict(config.custom_multichannels) == {"team": ("a", "https://x/y")}
    assert config.allowlist_channels == ("conda-forge",) and config.denylist_channels == ("bad",)
    assert config.ssl_verify == "/etc/ssl/corp.pem"
    assert dict(config.proxy_servers) == {"https": "http://proxy:3128"}
    assert config.default_channels == ("main",)


def test_amber_settings_file_adds_to_condarc_and_variables_win(tmp_path):
    write(tmp_path / ".condarc", "channels: [from-condarc]\nchannel_alias: https://condarc\n")
    user = write(
        tmp_path / ".config" / "amber" / "config.toml",
        """
        channels = ["from-amber"]
        channel-alias = "https://amber"
        channel-priority = "flexible"
        [mirrors]
        "https://conda.anaconda.org/conda-forge" = ["https://mirror.example/conda-forge"]
        """,
    )
    project = write(tmp_path / "work" / ".amber" / "config.toml", 'channel-priority = "strict"\n')
    config = condarc.load(conda_environ(tmp_path), cwd=tmp_path / "work" / "sub")
    assert config.channels == ("from-amber", "from-condarc")
    assert config.channel_alias == "https://amber"
    assert config.origin("channel_alias") == f"{user}: channel-alias"
    assert config.channel_priority == "strict"
    assert config.origin("channel_priority") == f"{project}: channel-priority"
    assert dict(config.mirrors) == {
        "https://conda.anaconda.org/conda-forge": ("https://mirror.example/conda-forge",)
    }
    given_file = write(tmp_path / "given.toml", 'channel-alias = "https://given"\n')
    assert condarc.load(
        conda_environ(tmp_path), cwd=tmp_path, amber_config=given_file
    ).channel_alias == ("https://given")


@pytest.mark.parametrize(
    ("name", "text", "culprit"),
    [
        (".condarc", "channels: [a\n", "malformed YAML"),
        (".condarc", "channel_alias: conda.example.com\n", "must have a scheme"),
        (".condarc", "channel_priority: sometimes\n", "strict or flexible or disabled"),
        (".condarc", "channels: {a: 1}\n", "a list of strings"),
        (".config/amber/config.toml", "channel-alias = 3\n", "a string"),
        (".config/amber/config.toml", "chanels = []\n", "unknown setting 'chanels'"),
        (".config/amber/config.toml", "channels = [\n", "malformed TOML"),
    ],
)
def test_a_bad_setting_is_an_error_naming_file_and_key(tmp_path, name, text, culprit):
    path = write(tmp_path / name, text)
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path)
    assert str(path) in str(caught.value) and culprit in str(caught.value)


def test_amber_config_set_writes_the_toml_file_atomically_and_list_shows_origins(amber, tmp_path):
    home = tmp_path / "home"
    environ = conda_environ(home, CONDA_CHANNEL_PRIORITY="strict")
    write(
        home / ".condarc",
        "channels: [conda-forge]\nchannel_alias: https://u:pw@mirror.example/t/tk-1\n",
    )
    amber("config", "set", "channels", "internal,conda-forge", env=environ, check=True)
    amber(
        "config",
        "set",
        "custom-channels.internal",
        "https://conda.example.com",
        env=environ,
        check=True,
    )
    amber("config", "set", "channel-alias", "https://amber.example", cwd=tmp_path, env=environ,
          check=True)  # fmt: skip
    amber("config", "set", "mirrors.https://conda.anaconda.org/conda-forge", "https://m1,https://m2",
          env=environ, check=True)  # fmt: skip
    user = home / ".config" / "amber" / "config.toml"
    assert "internal" in user.read_text()
    shown = amber("config", "list", "--json", env=environ, check=True)
    rows = {r["key"]: r for r in json.loads(shown.stdout)}
    assert rows["channels"]["value"] == ["internal", "conda-forge"]
    assert rows["channels"]["origin"] == f"{user}: channels; {home / '.condarc'}: channels"
    assert rows["custom-channels"]["value"]["internal"] == "https://conda.example.com"
    assert rows["channel-priority"] == {
        "key": "channel-priority", "value": "strict", "origin": "$CONDA_CHANNEL_PRIORITY"
    }  # fmt: skip
    assert rows["channel-alias"]["origin"] == f"{user}: channel-alias"
    assert rows["mirrors"]["value"] == {
        "https://conda.anaconda.org/conda-forge": ["https://m1", "https://m2"]
    }
    assert rows["ssl-verify"]["origin"] == "default"

    # The project's file, over the user's; a credential in a value is never shown.
    amber("config", "set", "--project", "channel-alias", "https://u:pw@proj.example/t/tk-2",
          cwd=tmp_path, env=environ, check=True)  # fmt: skip
    got = amber("config", "get", "channel_alias", cwd=tmp_path, env=environ, check=True)
    assert (
        "https://proj.example" in got.stdout
        and str(tmp_path / ".amber" / "config.toml") in got.stdout
    )
    assert "pw" not in got.stdout and "tk-2" not in got.stdout

    before = user.read_bytes()
    for bad in (("channel-priority", "sometimes"), ("nope", "1"), ("custom-channels", "x")):
        result = amber("config", "set", *bad, env=environ)
        assert result.returncode == 2 and "Traceback" not in result.stderr, result
    assert user.read_bytes() == before


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.sampled_from("abcdefg"), max_size=4), min_size=1, max_size=4))
def test_lists_concatenate_higher_precedence_first_without_repeats(tmp_path_factory, layers):
    """conda's SequenceParameter.merge: each later file's entries come first, then the
    earlier ones, each entry once (where it first appears)."""
    home = tmp_path_factory.mktemp("merge")
    names = [".config/conda/.condarc", ".conda/.condarc", ".condarc", "prefix/.condarc"]
    for name, items in zip(names, layers, strict=False):
        write(home / name, f"channels: [{', '.join(items)}]\n")
    expected = list(dict.fromkeys(i for items in reversed(layers) for i in items))
    assert list(_load(home, CONDA_PREFIX=str(home / "prefix")).channels) == expected


def test_the_settings_files_give_the_network_and_accept_both_spellings(tmp_path):
    """conda's `channel_priority: true`, pixi-style `ssl-verify`, mirrors as one URL."""
    ca = write(tmp_path / "ca.pem", "not checked here\n")
    write(tmp_path / ".condarc", f"channel_priority: true\nssl_verify: {ca}\n")
    write(
        tmp_path / ".config" / "amber" / "config.toml",
        '[mirrors]\n"https://conda.anaconda.org/conda-forge" = "https://mirror.example/cf"\n',
    )
    config = _load(tmp_path)
    assert config.channel_priority == "flexible"
    network = condarc.network_of(config)
    assert network.ssl_verify == str(ca.resolve())
    assert network.mirrored("https://conda.anaconda.org/conda-forge/noarch/a") == (
        "https://mirror.example/cf/noarch/a"
    )
    assert _load(tmp_path, CONDA_CHANNEL_PRIORITY="false").channel_priority == "disabled"
    write(tmp_path / ".condarc", "ssl_verify: /no/such/ca.pem\n")
    with pytest.raises(ConfigError, match=r"\.condarc: ssl_verify.*ssl_verify is"):
        condarc.network_of(_load(tmp_path))


def test_the_configured_channel_priority_yields_to_the_specs(tmp_path, monkeypatch):
    """conda's default < the settings < the spec (< `amber lock --channel-priority`)."""
    for key, value in conda_environ(tmp_path, CONDA_CHANNEL_PRIORITY="strict").items():
        monkeypatch.setenv(key, value)
    session = Session.open(tmp_path / "store", quiet=True)
    spec = Spec.create(conda=["libfoo"], channels=["conda-forge"])
    assert configured_priority(spec, session).channel_priority == "strict"
    disabled = spec.with_channel_priority("disabled")
    assert configured_priority(disabled, session).channel_priority == "disabled"


def test_amber_run_of_an_existing_env_sees_changed_settings(amber, conda_channel, tmp_path):
    """`amber run` of an env it knows parses no settings file (its memos compare their stat
    fingerprints); once one changes, it reads them as without a memo, naming the culprit."""
    spec = conda_spec(tmp_path / "project", conda_channel, "python", "greetlib")
    home = tmp_path / "home"
    environ = conda_environ(home)
    amber("install", "-f", spec, env=environ, check=True)
    ran = amber("run", "-f", spec, "--", "greet", env=environ, check=True)
    assert ran.stdout.strip() == "hello from greetlib"
    write(home / ".condarc", "channels: [unclosed\n")
    refused = amber("run", "-f", spec, "--", "greet", env=environ)
    assert refused.returncode == 2 and str(home / ".condarc") in refused.stderr, refused
    bad = write(tmp_path / "bad.toml", "mirrors = [\n")
    environ = {**environ, "AMBER_CONFIG": str(bad), "AMBER_MIRRORS": "{not json"}
    # A command that needs the channels reads them, and names the culprit.
    refused = amber("lock", "-f", spec, env=environ)
    assert refused.returncode == 2 and "AMBER_MIRRORS" in refused.stderr, refused
    refused = amber("lock", "-f", spec, env={**environ, "AMBER_MIRRORS": ""})
    assert refused.returncode == 2 and str(home / ".condarc") in refused.stderr, refused
    assert "Traceback" not in refused.stderr
