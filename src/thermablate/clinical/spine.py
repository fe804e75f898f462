"""Spinal levels: validation and ordering of vertebral level labels.

The human spine has 7 cervical, 12 thoracic, 5 lumbar and 5 (fused) sacral vertebrae
(Gray's Anatomy, 42nd ed., 2020); the issue asks for C1-S5. Lesions and treatments may span
several *contiguous* levels, written either as a list ("L2,L3") or a range ("L2-L4").
"""

SPINAL_LEVELS: tuple[str, ...] = (
    *(f"C{i}" for i in range(1, 8)),
    *(f"T{i}" for i in range(1, 13)),
    *(f"L{i}" for i in range(1, 6)),
    *(f"S{i}" for i in range(1, 6)),
)
_INDEX = {level: i for i, level in enumerate(SPINAL_LEVELS)}


class SpinalLevelError(ValueError):
    """A level label that is not C1-S5, or levels that are not contiguous."""


def _normalise(label: str) -> str:
    level = label.strip().upper()
    if level not in _INDEX:
        raise SpinalLevelError(
            f"unknown spinal level {label.strip()!r}: use C1-C7, T1-T12, L1-L5 or S1-S5"
        )
    return level


def parse_levels(text: str) -> list[str]:
    """Parse "L2", "L2,L3", "L2-L4" or "T12, L1" into an ordered list of contiguous levels.

    Raises SpinalLevelError for an unknown label, a reversed range or a gap between levels.
    An empty text gives an empty list (levels not known).
    """
    levels: list[str] = []
    for part in (p for p in text.replace(";", ",").split(",") if p.strip()):
        if "-" in part:
            first, _, last = part.partition("-")
            start, end = _INDEX[_normalise(first)], _INDEX[_normalise(last)]
            if end < start:
                raise SpinalLevelError(f"range {part.strip()!r} runs backwards")
            levels.extend(SPINAL_LEVELS[start : end + 1])
        else:
            levels.append(_normalise(part))
    ordered = sorted(set(levels), key=_INDEX.__getitem__)
    positions = [_INDEX[level] for level in ordered]
    if any(b - a != 1 for a, b in zip(positions, positions[1:], strict=False)):
        raise SpinalLevelError(f"levels {', '.join(ordered)} are not contiguous")
    return ordered


def format_levels(levels: list[str]) -> str:
    """ "L2-L4" for a run of levels, "L3" for one, "" for none."""
    if not levels:
        return ""
    return levels[0] if len(levels) == 1 else f"{levels[0]}-{levels[-1]}"
