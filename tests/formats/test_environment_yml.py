"""amber.formats.environment_yml.spec_text: a spec as environment.yml, read back the same."""

from __future__ import annotations

from pathlib import Path

from amber.formats.environment_yml import spec_text
from amber.spec import Spec, read_spec


def test_spec_text_reads_back_and_keeps_secrets_out(tmp_path: Path):
    spec = Spec.create(
        conda=["python 3.12.*", "numpy >=2"],
        channels=["conda-forge", "https://user:secret@conda.example.com/private"],
        pypi=["six==1.17.0", "rich>=13 ; sys_platform == 'linux'"],
        index_url="https://user:secret@pypi.example.com/simple",
        extra_index_urls=["https://pypi.org/simple"],
        name="demo",
    )
    text = spec_text(spec, header="written by a test")
    assert text.startswith("# written by a test\nname: demo\n")
    assert "secret" not in text
    path = tmp_path / "environment.yml"
    path.write_text(text)
    back = read_spec(path)
    assert (back.name, back.conda, back.pypi) == (spec.name, spec.conda, spec.pypi)
    assert back.extra_index_urls == spec.extra_index_urls
    # A name reads back as the URL conda resolves it to (channel_alias/name).
    assert back.channels[0] == "https://conda.anaconda.org/" + spec.channels[0]
    assert len(back.channels) == 2


def test_spec_text_without_pypi_has_no_pip_section():
    spec = Spec.create(conda=["python 3.12.*"], channels=["conda-forge"])
    assert "pip" not in spec_text(spec)
