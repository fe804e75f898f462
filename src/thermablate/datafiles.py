"""Reading the versioned data tables Thermablate ships (``<package>/data/*.csv``).

Each file is a CSV preceded by ``# key: value`` header lines (name, version, source, ...), so
the provenance travels with the numbers. A leaf module: the pure core (``clinical``,
``planning``) and the apps all read their tables through it.
"""

import csv
import io
import math
from importlib import resources


def read_data_file(
    package: str, filename: str
) -> tuple[dict[str, list[str]], list[dict[str, str]]]:
    """Split ``package``'s ``data/filename`` into its '# key: value' header and its CSV rows."""
    text = resources.files(package).joinpath("data", filename).read_text(encoding="utf-8")
    return parse_data_text(text)


def parse_data_text(text: str) -> tuple[dict[str, list[str]], list[dict[str, str]]]:
    """The header and rows of a data table's text (a site's own table is read the same way)."""
    meta: dict[str, list[str]] = {}
    body = []
    for line in text.splitlines():
        if line.startswith("#"):
            key, sep, value = line[1:].partition(":")
            if sep:
                meta.setdefault(key.strip(), []).append(value.strip())
        elif line.strip():
            body.append(line)
    return meta, list(csv.DictReader(io.StringIO("\n".join(body))))


def keyed_sources(meta: dict[str, list[str]]) -> dict[str, str]:
    """The header's ``# source: key = reference`` lines as {key: reference}."""
    sources = {}
    for line in meta.get("source", []):
        key, sep, text = line.partition("=")
        if sep:
            sources[key.strip()] = text.strip()
    return sources


def positive_cell(text: str | None, what: str) -> float | None:
    """A cell that is empty (None: no source documents the value) or a positive finite
    number; anything else raises ValueError naming ``what``."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{what} must be a number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{what} must be a positive number, got {text!r}")
    return value
