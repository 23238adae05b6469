"""Hostname rules (cloudflare-api.md §1.4, C40) checked locally before any API call."""

from __future__ import annotations

import pytest

from origincert.errors import HostnameError
from origincert.hostnames import (
    depth_below,
    is_edge_covered,
    normalize,
    validate,
    zone_candidates,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("www.example.com", "www.example.com"),
        ("WWW.Example.COM", "www.example.com"),
        ("www.example.com.", "www.example.com"),
        ("  www.example.com \n", "www.example.com"),
        ("\tEXAMPLE.com.\r\n", "example.com"),
        ("bücher.example.com", "xn--bcher-kva.example.com"),
        ("BÜCHER.example.com", "xn--bcher-kva.example.com"),
        ("*.bücher.example.com", "*.xn--bcher-kva.example.com"),
        ("*.example.com", "*.example.com"),
        ("a.example.com", "a.example.com"),
        ("xn--bcher-kva.example.com", "xn--bcher-kva.example.com"),
    ],
)
def test_valid_hostnames_come_back_normalized(raw: str, expected: str) -> None:
    assert validate(raw) == expected
    assert normalize(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        (".", "empty"),
        ("*.*.example.com", "wildcard that is not the whole first label"),
        ("foo.*.example.com", "wildcard that is not the whole first label"),
        ("f*o.example.com", "wildcard that is not the whole first label"),
        ("*foo.example.com", "wildcard that is not the whole first label"),
        ("*.com", "too broad"),
        ("*", "too broad"),
        ("203.0.113.10", "IP address"),
        ("2001:db8::1", "IP address"),
        ("[2001:db8::1]", "IP address"),
        ("-bad-.example.com", "invalid label '-bad-'"),
        ("bad-.example.com", "invalid label"),
        ("under_score.example.com", "invalid label"),
        ("sp ace.example.com", "invalid label"),
        ("www..example.com", "empty label"),
        ("localhost", "not a fully qualified name"),
        ("a" * 64 + ".example.com", "longer than 63"),
    ],
)
def test_invalid_hostnames_raise_one_clear_line(raw: str, reason: str) -> None:
    with pytest.raises(HostnameError) as caught:
        validate(raw)
    line = caught.value.one_line()
    assert reason in line
    assert "\n" not in line


def _name_of_length(length: int) -> str:
    labels = []
    remaining = length - len(".example.com")
    while remaining > 0:
        size = min(63, remaining)
        if remaining - size == 1:  # never leave a label of length 0 after a dot
            size -= 1
        labels.append("a" * size)
        remaining -= size + 1
    name = ".".join(labels) + ".example.com"
    assert len(name) == length
    return name


def test_253_character_name_is_accepted_and_254_refused() -> None:
    assert validate(_name_of_length(253)) == _name_of_length(253)
    with pytest.raises(HostnameError, match="too long"):
        validate(_name_of_length(254))


def test_trailing_dot_does_not_count_toward_the_length() -> None:
    assert validate(_name_of_length(253) + ".") == _name_of_length(253)


def test_zone_candidates_go_from_most_to_least_specific() -> None:
    assert zone_candidates("www.shop.example.com") == [
        "www.shop.example.com",
        "shop.example.com",
        "example.com",
    ]
    assert zone_candidates("*.shop.example.com") == ["shop.example.com", "example.com"]
    assert zone_candidates("Example.COM.") == ["example.com"]


@pytest.mark.parametrize(
    ("name", "zone", "depth", "edge"),
    [
        ("example.com", "example.com", 0, True),
        ("www.example.com", "example.com", 1, True),
        ("*.example.com", "example.com", 1, True),
        ("a.b.example.com", "example.com", 2, False),
        ("*.shop.example.com", "example.com", 2, False),
        ("WWW.Example.com.", "example.com", 1, True),
    ],
)
def test_depth_below_zone_and_edge_coverage(name: str, zone: str, depth: int, edge: bool) -> None:
    assert depth_below(name, zone) == depth
    assert is_edge_covered(name, zone) is edge


def test_depth_below_a_foreign_zone_is_refused() -> None:
    with pytest.raises(HostnameError, match="not in zone"):
        depth_below("www.example.org", "example.com")
    with pytest.raises(HostnameError):
        depth_below("notexample.com", "example.com")
