"""``amber._names.canonical_name`` is ``packaging``'s ``canonicalize_name``, on any text."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from packaging.utils import canonicalize_name

from amber._names import canonical_name

NAMEISH = st.text(alphabet=st.sampled_from("aAzZ09-_.~ ßİK"), max_size=30)


@given(st.one_of(NAMEISH, st.text(max_size=30)))
def test_same_as_packaging(name: str) -> None:
    assert canonical_name(name) == canonicalize_name(name)


def test_examples() -> None:
    assert canonical_name("Ruamel.YAML__Clib") == "ruamel-yaml-clib"
    assert canonical_name("zope.interface") == "zope-interface"
