import pytest
from hypothesis import given
from hypothesis import strategies as st

from thermablate.clinical.spine import SPINAL_LEVELS, SpinalLevelError, format_levels, parse_levels


def test_it_has_29_levels_from_c1_to_s5():
    assert len(SPINAL_LEVELS) == 7 + 12 + 5 + 5
    assert SPINAL_LEVELS[0] == "C1" and SPINAL_LEVELS[-1] == "S5"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("L3", ["L3"]),
        ("l2, L3", ["L2", "L3"]),
        ("T11-L1", ["T11", "T12", "L1"]),
        ("L3,L2", ["L2", "L3"]),
        ("", []),
    ],
)
def test_it_parses_levels(text, expected):
    assert parse_levels(text) == expected


@pytest.mark.parametrize("text", ["L6", "C8", "X1", "L2,L4", "L4-L2", "T13"])
def test_it_refuses_unknown_or_non_contiguous_levels(text):
    with pytest.raises(SpinalLevelError):
        parse_levels(text)


@given(st.integers(0, len(SPINAL_LEVELS) - 1), st.integers(0, 4))
def test_formatted_ranges_parse_back(start, length):
    levels = list(SPINAL_LEVELS[start : start + length + 1])
    assert parse_levels(format_levels(levels)) == levels
