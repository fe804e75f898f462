"""Reading the versioned data tables shipped in ``thermablate/clinical/data``.

Each file is a CSV preceded by ``# key: value`` header lines (name, version, source, ...), so
the provenance travels with the numbers.
"""

import csv
import io
from importlib import resources


def read_data_file(filename: str) -> tuple[dict[str, list[str]], list[dict[str, str]]]:
    """Split a data file into its '# key: value' header and its CSV rows."""
    text = (
        resources.files("thermablate.clinical")
        .joinpath("data", filename)
        .read_text(encoding="utf-8")
    )
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
