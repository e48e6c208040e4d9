"""``Network.mirrored``: the longest channel prefix a URL is under goes to its mirror,
path segment by segment (``conda-forge`` never captures ``conda-forge-x``)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from amber.settings import Network

_SEGMENT = st.text("abcx-", min_size=1, max_size=4)


@settings(max_examples=60, deadline=None)
@given(
    channels=st.lists(st.lists(_SEGMENT, min_size=1, max_size=3), min_size=1, max_size=4),
    path=st.lists(_SEGMENT, min_size=1, max_size=5),
)
def test_a_url_goes_to_the_mirror_of_its_longest_channel_prefix(channels, path) -> None:
    base = "https://conda.example"
    prefixes = {f"{base}/" + "/".join(c) for c in channels}
    mirrors = {p: (f"https://mirror.example/{i}",) for i, p in enumerate(sorted(prefixes))}
    network = Network.of(mirrors={k: list(v) for k, v in mirrors.items()})
    url = f"{base}/" + "/".join(path)
    under = [p for p in prefixes if url == p or url.startswith(p + "/")]
    if not under:
        assert network.mirrored(url) == url
        return
    longest = max(under, key=len)
    assert network.mirrored(url) == mirrors[longest][0] + url[len(longest) :]
