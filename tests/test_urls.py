"""redact: what leaves memory of a URL carries no credential, in any form users write one."""

from __future__ import annotations

import pytest
from helpers import bounded
from hypothesis import given
from hypothesis import strategies as st

from amber import _urls
from amber._urls import redact, redact_text


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://user:pw@host/chan", "https://host/chan"),
        ("https://__token__:pypi-s3cret@pypi.org/simple", "https://pypi.org/simple"),
        ("https://host/t/tk-123/chan/linux-64", "https://host/chan/linux-64"),
        ("https://host/t/tk-123/t/linux-64/x.conda", "https://host/t/linux-64/x.conda"),  # once
        ("https://host/t/tk-123", "https://host"),
        # A git repository under a user or group named t keeps its path (not a conda token).
        ("git+https://u:pw@git.example/t/repo.git@v1", "git+https://git.example/t/repo.git@v1"),
        ("git+ssh://git@host/t/tools.git", "git+ssh://git@host/t/tools.git"),  # ssh's user
        ("ssh://git:pw@host/repo.git", "ssh://host/repo.git"),
        ("https://host/tools/t2/chan", "https://host/tools/t2/chan"),  # no token there
        # A variable names where the token comes from: kept, so a lock can be installed.
        ("https://host/t/${TK}/chan", "https://host/t/${TK}/chan"),
        ("https://host/t/$TK/chan", "https://host/t/$TK/chan"),
        ("https://host/t/${TK}x/chan", "https://host/chan"),  # not only a variable
        ("https://[2001:db8::1]/t/tk/chan", "https://[2001:db8::1]/chan"),
        ("https://host/chan/x.conda?token=s3cret&v=1", "https://host/chan/x.conda?v=1"),
        ("https://h/x?access_token=a&X-Amz-Signature=b&X-Amz-Credential=c&versionId=3",
         "https://h/x?versionId=3"),
        ("https://h/x?api-key=a&monkey=1", "https://h/x?monkey=1"),
        ("https://u:pw@[::1]:8000/chan", "https://[::1]:8000/chan"),  # IPv6 stays a host
        ("http://[::1", "http://<malformed>"),  # never a traceback, never the input back
        ("http://user:pw@host:99999/x", "http://<malformed>"),
        ("conda-forge", "conda-forge"),
    ],
)  # fmt: skip
def test_redact(url: str, expected: str) -> None:
    assert redact(url) == expected


def test_remember_keeps_credentials_in_memory_only() -> None:
    from amber import _auth

    clean = _auth.remember("https://u:p%40ss@mirror.example/t/tk-9/chan?token=q1&v=2")
    assert clean == "https://mirror.example/chan?v=2"
    url, headers = _auth.request("https://mirror.example/chan/noarch/repodata.json")
    assert url == "https://mirror.example/t/tk-9/chan/noarch/repodata.json?token=q1"
    assert headers == {"Authorization": "Basic dTpwQHNz"}  # u:p@ss
    assert _auth.with_credentials("https://mirror.example/chan/x.whl") == (
        "https://u:p%40ss@mirror.example/t/tk-9/chan/x.whl?token=q1"
    )

    # A token after a base path goes back where it was.
    _auth.remember("https://repo.example/api/t/tk-2/chan")
    assert _auth.request("https://repo.example/api/chan/noarch/x.conda")[0] == (
        "https://repo.example/api/t/tk-2/chan/noarch/x.conda"
    )


def test_redact_text_is_linear_on_a_huge_word() -> None:
    """A 2 MB word before `://` took minutes (an unbounded scheme, tried at every start)."""
    with bounded(10):
        assert redact_text("x" * 2_000_000 + "://").endswith("://")
        assert redact_text("a" * 1000 + "https://u:pw@host/chan").endswith("https://host/chan")


@given(st.from_regex(_urls._PLAIN, fullmatch=True))
def test_a_plain_url_is_what_the_parsing_gives_back(url: str) -> None:
    """redact's shortcut for plain URLs (most package URLs) changes nothing the parsing
    would have kept: the URL comes back as the full path writes it."""
    assert redact(url) == url == _urls._redacted(url)


@given(st.text(alphabet="hfilpst:/@?#%[]tT.-_0123456789aA$={}", max_size=40))
def test_redact_is_its_parsing_on_any_text(url: str) -> None:
    assert redact(url) == (_urls._redacted(url) if "://" in url else url)
