"""Reading the versioned data tables shipped in ``thermablate/clinical/data``.

Each file is a CSV preceded by ``# key: value`` header lines (name, version, source, ...), so
the provenance travels with the numbers.
"""

from thermablate import datafiles


def read_data_file(filename: str) -> tuple[dict[str, list[str]], list[dict[str, str]]]:
    """Split a data file into its '# key: value' header and its CSV rows."""
    return datafiles.read_data_file("thermablate.clinical", filename)
