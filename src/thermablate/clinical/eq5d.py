"""EQ-5D-5L: the five raw answers (the profile) and its index value under a named value set.

The EQ-5D-5L descriptive system (EuroQol Group; Herdman M et al. Qual Life Res
2011;20(10):1727-36, doi:10.1007/s11136-011-9903-x) has five dimensions, each answered at
levels 1 (no problems) to 5 (extreme problems / unable). We store the profile and compute
the index on demand, so a better value set can be applied to old answers later.

Value sets (versioned data files in ``clinical/data/``, each with its source in the header):

- ``en-5l-to-3l-crosswalk-vanhout-2012``: 5L answers mapped onto the UK EQ-5D-3L TTO values
  (Dolan 1997) by the van Hout et al. 2012 crosswalk (Value Health 15(5):708-15,
  doi:10.1016/j.jval.2012.02.008). 11111 = 1.000, 55555 = -0.594.
- ``en-5l-devlin-2018``: the EQ-5D-5L value set for England, Devlin et al. 2018 (Health Econ
  27(1):7-22, doi:10.1002/hec.3564). 11111 = 1.000, 55555 = -0.285.

NICE's position (position statement on the EQ-5D-5L, updated October 2019; NICE health
technology evaluations manual PMG36, 2022, section 4.3.16): do not use the Devlin 2018 value
set for reference-case analyses; map 5L answers onto the UK 3L value set instead. NICE now
recommends the Decision Support Unit's mapping (Hernández Alava, Pudney & Wailoo; NICE DSU
report, published in PharmacoEconomics 2023;41(2):199-207, doi:10.1007/s40273-022-01218-7),
which is conditional on age and sex and published as a 31,250-row table that we could not
obtain. It is NOT implemented here. The van Hout crosswalk (NICE's earlier recommendation) is
the 5L-to-3L mapping we have, so it is the default. Every report names the value set used
(``describe``) so indices can be recomputed when the DSU mapping is added.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from thermablate.clinical.datafiles import read_data_file

VERSION = "1.0.0"
SOURCE = "EQ-5D-5L descriptive system: Herdman et al. 2011, Qual Life Res 20(10):1727-36, doi:10.1007/s11136-011-9903-x"

DIMENSIONS = ("mobility", "self_care", "usual_activities", "pain_discomfort", "anxiety_depression")
DIMENSION_CODES = ("MO", "SC", "UA", "PD", "AD")
LEVEL_MIN = 1
LEVEL_MAX = 5

Profile = tuple[int, int, int, int, int]


@dataclass(frozen=True)
class ValueSet:
    """A named, versioned table of index values for all 3,125 EQ-5D-5L profiles."""

    name: str
    version: str
    title: str
    sources: tuple[str, ...]
    values: Mapping[str, float]

    def index(self, profile: Sequence[int] | str) -> float:
        return self.values[profile_code(profile)]


def parse_profile(profile: Sequence[int] | str) -> Profile:
    """Validate a profile given as five ints 1-5 or a string like "21325"; raise ValueError if invalid."""
    if isinstance(profile, str):
        text = profile.strip()
        if len(text) != len(DIMENSIONS) or not all(c in "12345" for c in text):
            raise ValueError(
                f"EQ-5D-5L profile must be five digits 1-5 (e.g. '21325'), got {profile!r}"
            )
        return tuple(int(c) for c in text)  # type: ignore[return-value]
    try:
        levels = tuple(profile)
    except TypeError:
        raise ValueError(
            f"EQ-5D-5L profile must be five levels 1-5 or a string like '21325', got {profile!r}"
        ) from None
    if len(levels) != len(DIMENSIONS):
        raise ValueError(
            f"EQ-5D-5L profile needs {len(DIMENSIONS)} levels ({', '.join(DIMENSIONS)}), got {len(levels)}"
        )
    for dimension, level in zip(DIMENSIONS, levels, strict=True):
        if (
            isinstance(level, bool)
            or not isinstance(level, int)
            or not LEVEL_MIN <= level <= LEVEL_MAX
        ):
            raise ValueError(
                f"EQ-5D-5L {dimension} must be a whole number from 1 to 5, got {level!r}"
            )
    return levels  # type: ignore[return-value]


def profile_code(profile: Sequence[int] | str) -> str:
    """The five-digit code of a valid profile, e.g. (2, 1, 3, 2, 5) -> "21325"."""
    return "".join(str(level) for level in parse_profile(profile))


def _value_set(meta: dict[str, list[str]], title: str, values: dict[str, float]) -> ValueSet:
    if len(values) != 5**5:
        raise RuntimeError(f"value set {meta['name'][0]} has {len(values)} profiles, expected 3125")
    return ValueSet(
        name=meta["name"][0],
        version=meta["version"][0],
        title=title,
        sources=tuple(meta["source"]),
        values=MappingProxyType(values),
    )


def _load_table(filename: str, title: str) -> ValueSet:
    """A data file listing the index of every profile."""
    meta, rows = read_data_file(filename)
    return _value_set(meta, title, {row["profile"]: float(row["index"]) for row in rows})


def _load_additive_model(filename: str, title: str) -> ValueSet:
    """A data file of per-dimension, per-level decrements: index = 1 - sum of decrements."""
    meta, rows = read_data_file(filename)
    decrement = {(row["dimension"], int(row["level"])): float(row["decrement"]) for row in rows}
    values = {}
    for levels in itertools.product(range(LEVEL_MIN, LEVEL_MAX + 1), repeat=len(DIMENSIONS)):
        total = sum(
            decrement[code, level] for code, level in zip(DIMENSION_CODES, levels, strict=True)
        )
        # Round to the 3 decimals the value set is published with, so 55555 is exactly -0.285.
        values["".join(map(str, levels))] = round(1.0 - total, 3)
    return _value_set(meta, title, values)


CROSSWALK_VANHOUT_2012 = "en-5l-to-3l-crosswalk-vanhout-2012"
DEVLIN_2018 = "en-5l-devlin-2018"

VALUE_SETS: Mapping[str, ValueSet] = MappingProxyType(
    {
        CROSSWALK_VANHOUT_2012: _load_table(
            "eq5d5l_crosswalk_uk_vanhout2012.csv",
            "EQ-5D-5L mapped to the UK EQ-5D-3L value set (van Hout et al. 2012 crosswalk)",
        ),
        DEVLIN_2018: _load_additive_model(
            "eq5d5l_valueset_england_devlin2018.csv",
            "EQ-5D-5L value set for England (Devlin et al. 2018)",
        ),
    }
)

# Follows NICE: map 5L answers onto the UK 3L values (see the module docstring).
DEFAULT_VALUE_SET = CROSSWALK_VANHOUT_2012


def _get(value_set: str) -> ValueSet:
    try:
        return VALUE_SETS[value_set]
    except KeyError:
        raise ValueError(
            f"unknown EQ-5D value set {value_set!r}; choose one of: {', '.join(VALUE_SETS)}"
        ) from None


def index(profile: Sequence[int] | str, value_set: str = DEFAULT_VALUE_SET) -> float:
    """The index value of a profile under the named value set (default: NICE's approach)."""
    return _get(value_set).index(profile)


def describe(value_set: str = DEFAULT_VALUE_SET) -> str:
    """One line naming the value set and its source, to print in every report."""
    chosen = _get(value_set)
    return f"{chosen.title} [{chosen.name} v{chosen.version}]; source: {chosen.sources[0]}"
