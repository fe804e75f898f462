"""OPCS-4 coding suggestions for a recorded ablation procedure.

The conventions applied are the ones NICE's coding notes state (seed 003, NICE IPG319, OPCS-4.6;
the same notes appear on IPG327, IPG365, IPG366, IPG367):
- the main procedure code comes first;
- "Codes within category V55.- are assigned in second place each time a spinal operation is
  coded: if the levels of spine are not specified, V55.9 Unspecified levels of spine is used";
- a Y-code records the method (IPG319: Y10.2 Electrocauterisation of organ for IDET);
- "Codes within category Y53.- are used as secondary codes to classify interventions that are
  percutaneous and require some form of image control: if the method of image control is
  unspecified, Y53.9 Unspecified approach to organ under image control is assigned"; a second
  Y53 code may be added for a second modality (IPG337: "Y53.4 ... can be assigned in addition if
  fluoroscopic guidance is utilised");
- a Z-code records the site (IPG319: Z99.- Intervertebral disc).

The code table (``data/opcs4_nice_codes.csv``, a versioned table with its sources in its header)
holds only codes whose titles NICE states, each with its OPCS-4 version and source, so suggestions
and the guidance catalogue read in words without the licensed release file. Anything the table
cannot settle (the main code for RF ablation of a vertebral metastasis, the V55 subcode for given
levels, the Y53 subcode for CT or MRI, the site code) is returned with ``determined=False`` and the
reason, never guessed. Loading the official OPCS-4 release (``load_release``, ``thermablate opcs
load FILE``) gives every other title and lets a Y53 subcode be found by its title.
"""

import argparse
import os
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from thermablate.clinical.datafiles import read_data_file
from thermablate.clinical.spine import SPINAL_LEVELS

#: The shipped table of NICE-cited codes (its header names its version and sources).
SHIPPED_TABLE_FILE = "opcs4_nice_codes.csv"
#: Named wherever a code or title is missing because only the licensed release file holds it.
RELEASE_FILE = "the official OPCS-4 release file (thermablate opcs load FILE)"

#: An OPCS-4 code as written in NICE documents and coding tables: a chapter letter, two digits,
#: then optionally ".digit" or ".-" (the whole category, e.g. "V55.-").
OPCS_CODE_PATTERN = re.compile(r"^[A-Z]\d{2}(\.\d|\.-)?$")


class OpcsCodeError(ValueError):
    """A malformed OPCS-4 code, or a release file that cannot be read as OPCS-4 codes."""


def is_valid_opcs_code(code: str) -> bool:
    return bool(OPCS_CODE_PATTERN.fullmatch(code))


def validate_code(code: str) -> str:
    """The code, stripped and upper-cased, or OpcsCodeError if it is not shaped like OPCS-4."""
    cleaned = code.strip().upper()
    if not is_valid_opcs_code(cleaned):
        raise OpcsCodeError(
            f"{code!r} is not an OPCS-4 code: expected a letter, two digits and optionally "
            "'.digit' or '.-' (such as V52.2 or V55.-)"
        )
    return cleaned


@dataclass(frozen=True)
class CodeEntry:
    code: str
    title: str
    opcs_version: str
    source: str
    verified: bool


@dataclass(frozen=True)
class CodeTable:
    """Codes with their titles, versions and sources. ``release`` names a loaded official file;
    ``version`` and ``sources`` describe the shipped table it started from."""

    entries: dict[str, CodeEntry] = field(default_factory=dict)
    release: str | None = None
    version: str | None = None
    sources: tuple[str, ...] = ()

    def get(self, code: str) -> CodeEntry | None:
        return self.entries.get(code)

    def is_verified(self, code: str) -> bool:
        entry = self.entries.get(code)
        return bool(entry and entry.verified)

    def title(self, code: str) -> str | None:
        entry = self.entries.get(code)
        return entry.title if entry else None

    def find_by_title(self, category: str, words: Iterable[str]) -> list[CodeEntry]:
        """The subcodes of ``category`` ("Y53") whose title contains every word given."""
        wanted = [w.lower() for w in words]
        return [
            entry
            for code, entry in sorted(self.entries.items())
            if code.startswith(f"{category}.")
            and code[-1].isdigit()
            and entry.verified
            and all(w in entry.title.lower() for w in wanted)
        ]

    def merged_with(self, release: "CodeTable") -> "CodeTable":
        """This table with a release's titles; a shipped entry marked unverified becomes verified
        only when the release holds the same code with the same title."""
        merged = dict(self.entries)
        for code, official in release.entries.items():
            shipped = merged.get(code)
            same_title = shipped is not None and _same_title(shipped.title, official.title)
            if shipped is not None and not shipped.verified and not same_title:
                # The release contradicts our secondary source: believe the release, keep the note.
                merged[code] = replace(
                    official, source=f"{official.source}; differs from: {shipped.source}"
                )
            else:
                merged[code] = official
        return CodeTable(
            entries=merged, release=release.release, version=self.version, sources=self.sources
        )


def _same_title(a: str, b: str) -> bool:
    return re.sub(r"\W+", " ", a).strip().lower() == re.sub(r"\W+", " ", b).strip().lower()


def shipped_table() -> CodeTable:
    """The code table shipped with Thermablate (data/opcs4_nice_codes.csv)."""
    meta, rows = read_data_file(SHIPPED_TABLE_FILE)
    entries: dict[str, CodeEntry] = {}
    for row in rows:
        code = validate_code(row["code"])
        entries[code] = CodeEntry(
            code=code,
            title=row["title"].strip(),
            opcs_version=row["opcs_version"].strip(),
            source=row["source"].strip(),
            verified=row["status"].strip() == "verified",
        )
    return CodeTable(
        entries=entries,
        version=(meta.get("version") or [None])[0],
        sources=tuple(meta.get("source", ())),
    )


@dataclass(frozen=True)
class CodeTitle:
    """A code as a reader is shown it: its title, where the title comes from, and whether only the
    official release file can give it (``needs_release``)."""

    code: str
    title: str | None
    source: str | None
    needs_release: bool


def titles_for(
    codes: Iterable[str], table: CodeTable, stated: dict[str, str] | None = None
) -> list[CodeTitle]:
    """The title of each code: from the table when it is cited there (or the release says so),
    else as the document citing it states it (``stated``), else none, marked as needing the
    release file. An unverified candidate's title is shown but still needs the release file."""
    stated = stated or {}
    result = []
    for code in codes:
        entry = table.get(code)
        if entry is not None and entry.verified:
            result.append(CodeTitle(code, entry.title, entry.source, False))
        elif stated.get(code):
            result.append(CodeTitle(code, stated[code], "as the citing document states it", False))
        elif entry is not None:
            result.append(CodeTitle(code, entry.title, f"unverified: {entry.source}", True))
        else:
            result.append(CodeTitle(code, None, None, True))
    return result


def _release_code(raw: str) -> str:
    """ "V552" (the compact form in release files) or "V55.2" -> "V55.2"; "V55" stays a category."""
    code = raw.strip().upper()
    if re.fullmatch(r"[A-Z]\d{3}", code):
        code = f"{code[:3]}.{code[3]}"
    return code


def load_release(path: str | Path, *, version: str | None = None) -> CodeTable:
    """Read an official OPCS-4 code file into a CodeTable.

    Supported format: the NHS TRUD OPCS-4 release's codes-and-titles file, a tab-separated text
    file with one code and its title per line ("V552<TAB>Destruction of intervertebral disc NEC").
    Codes may be written with or without the dot; three-character category lines ("V55") are
    kept as categories. A first line that is a header ("code<TAB>title") is skipped. The OPCS-4
    version is taken from ``version`` or from the file name ("OPCS410 ..." -> "4.10").

    Raises OpcsCodeError (a ValueError) naming the line for a malformed code, a missing title or
    a code given two different titles; nothing is loaded in that case.
    """
    path = Path(path)
    if version is None:
        named = re.search(r"OPCS[-_ ]?4[._]?(\d{1,2})", path.name, re.I)
        version = f"4.{named.group(1)}" if named else "unstated"
    entries: dict[str, CodeEntry] = {}
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError:
        lines = path.read_text(encoding="latin-1").splitlines()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        columns = line.split("\t")
        if number == 1 and columns[0].strip().lower() in (
            "code",
            "codes",
            "opcs code",
            "opcs_code",
        ):
            continue
        raw_code = columns[0]
        title = columns[1].strip() if len(columns) > 1 else ""
        code = _release_code(raw_code)
        if not is_valid_opcs_code(code) or code.endswith("-"):
            raise OpcsCodeError(
                f"{path.name} line {number}: malformed OPCS-4 code {raw_code.strip()!r}"
            )
        if not title:
            raise OpcsCodeError(f"{path.name} line {number}: code {code} has no title")
        if code in entries and entries[code].title != title:
            raise OpcsCodeError(f"{path.name} line {number}: code {code} has two titles")
        entries[code] = CodeEntry(
            code, title, version, f"official OPCS-4 release file {path.name}", True
        )
    if not entries:
        raise OpcsCodeError(f"{path.name}: no OPCS-4 codes found")
    return CodeTable(entries=entries, release=path.name)


RELEASE_FOLDER = "opcs4"


def install_release(path: str | Path, data_dir: str | Path) -> CodeTable:
    """Check an official release file and keep a copy in ``data_dir/opcs4/`` for later use.

    All or nothing: a file that does not load (OpcsCodeError) leaves the installed one untouched.
    """
    table = load_release(path)
    folder = Path(data_dir) / RELEASE_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / Path(path).name
    staging = folder / f".{target.name}.partial"
    staging.write_bytes(Path(path).read_bytes())
    for previous in folder.iterdir():
        if previous.is_file() and previous not in (staging, target):
            previous.unlink()
    staging.replace(target)
    return table


def code_table(data_dir: str | Path | None = None) -> CodeTable:
    """The shipped table, merged with the installed official release when there is one."""
    table = shipped_table()
    if data_dir is None:
        return table
    folder = Path(data_dir) / RELEASE_FOLDER
    installed = (
        sorted(p for p in folder.glob("*") if p.is_file() and not p.name.startswith("."))
        if folder.is_dir()
        else []
    )
    return table.merged_with(load_release(installed[0])) if installed else table


def load_main(argv: list[str]) -> int:
    """``thermablate opcs load FILE [--data-dir DIR]``: install an official OPCS-4 release file.

    The data folder defaults to $THERMABLATE_DATA_DIR, else ./data (as the web settings do).
    """
    parser = argparse.ArgumentParser(prog="thermablate opcs load", description=load_main.__doc__)
    parser.add_argument(
        "file", metavar="FILE", help="the OPCS-4 codes-and-titles file (tab-separated)"
    )
    parser.add_argument("--data-dir", default=os.environ.get("THERMABLATE_DATA_DIR") or "data")
    options = parser.parse_args(argv)
    try:
        table = install_release(options.file, options.data_dir)
    except (OSError, OpcsCodeError) as error:
        print(f"thermablate opcs load: {error}", file=sys.stderr)
        return 2
    versions = sorted({entry.opcs_version for entry in table.entries.values()})
    print(
        f"loaded {len(table.entries)} OPCS-4 codes (version {', '.join(versions)}) from {table.release}"
    )
    return 0


# --- the procedure and the suggestions ---------------------------------------------------------

PROCEDURE_TYPES = (
    "rfa_spinal_metastasis",
    "rfa_vertebroplasty",
    "rfa_kyphoplasty",
    "osteoid_osteoma_thermocoagulation",
    "idet",
)
ACCESS_ROUTES = ("percutaneous", "endoscopic", "surgical")
APPROACHES = ("transpedicular", "parapedicular", "other")
IMAGE_MODALITIES = ("ct", "fluoroscopy", "mri", "ultrasound", "cbct")
SPINAL_LEVEL_LABELS = SPINAL_LEVELS
_ALWAYS_SPINAL = {"rfa_spinal_metastasis", "rfa_vertebroplasty", "rfa_kyphoplasty", "idet"}

# Y53 subcodes by modality where a NICE coding page states the title (see the CSV's sources).
_Y53_VERIFIED = {"fluoroscopy": "Y53.4", "ultrasound": "Y53.2"}
# Words to find the Y53 subcode in an official release for modalities without a cited code.
# Cone-beam CT has no subcode of its own that we can cite, so it stays undetermined.
_Y53_TITLE_WORDS = {"ct": ("computed tomography",), "mri": ("magnetic resonance",)}


@dataclass(frozen=True)
class ProcedureForCoding:
    procedure_type: str
    access: str | None = None
    approach: str | None = None
    image_guidance: tuple[str, ...] = ()
    spinal_levels: tuple[str, ...] = ()
    bone_site: str | None = None

    def __post_init__(self) -> None:
        if self.procedure_type not in PROCEDURE_TYPES:
            raise ValueError(
                f"unknown procedure_type {self.procedure_type!r}: expected one of {PROCEDURE_TYPES}"
            )
        if self.access is not None and self.access not in ACCESS_ROUTES:
            raise ValueError(
                f"unknown access {self.access!r}: expected one of {ACCESS_ROUTES} or None"
            )
        if self.approach is not None and self.approach not in APPROACHES:
            raise ValueError(
                f"unknown approach {self.approach!r}: expected one of {APPROACHES} or None"
            )
        unknown = [m for m in self.image_guidance if m not in IMAGE_MODALITIES]
        if unknown:
            raise ValueError(
                f"unknown image guidance {unknown}: expected any of {IMAGE_MODALITIES}"
            )
        bad_levels = [level for level in self.spinal_levels if level not in SPINAL_LEVEL_LABELS]
        if bad_levels:
            raise ValueError(f"unknown spinal levels {bad_levels}: use C1-C7, T1-T12, L1-L5, S1-S5")

    @property
    def is_spinal(self) -> bool:
        site = (self.bone_site or "").lower()
        return (
            self.procedure_type in _ALWAYS_SPINAL
            or bool(self.spinal_levels)
            or any(word in site for word in ("spine", "vertebra", "sacrum", "spinal"))
        )


@dataclass(frozen=True)
class CodeSuggestion:
    """One code in the suggested sequence. ``code`` is None, or a category ("V55.-"), when the
    exact code could not be determined; ``rationale`` says why and what settles it."""

    code: str | None
    title: str | None
    position: int
    rationale: str
    determined: bool


@dataclass
class _Draft:
    code: str | None
    title: str | None
    rationale: str
    determined: bool


_MAIN_PROCEDURE = {
    "rfa_spinal_metastasis": "radiofrequency ablation (destruction) of a lesion of a vertebra",
    "rfa_vertebroplasty": "radiofrequency ablation of a vertebral lesion",
    "rfa_kyphoplasty": "radiofrequency ablation of a vertebral lesion",
    "osteoid_osteoma_thermocoagulation": "thermocoagulation (destruction) of a lesion of bone",
}
_ADDITIONAL_PROCEDURE = {
    "rfa_vertebroplasty": "percutaneous vertebroplasty",
    "rfa_kyphoplasty": "balloon kyphoplasty",
}


def _cited(table: CodeTable, code: str, rationale: str) -> _Draft:
    """A code from the table: determined only if its entry is verified."""
    entry = table.get(code)
    if entry is None:
        return _Draft(code, None, f"{rationale}; {code} is not in the code table", False)
    source = f"OPCS-{entry.opcs_version}" if entry.opcs_version[:1].isdigit() else "OPCS-4"
    if not entry.verified:
        return _Draft(
            code, entry.title, f"{rationale}; candidate only, unverified ({entry.source})", False
        )
    return _Draft(code, entry.title, f"{rationale} ({source}; {entry.source})", True)


def _main_procedure(procedure: ProcedureForCoding, table: CodeTable) -> _Draft:
    if procedure.procedure_type == "idet":
        return _cited(
            table,
            "V52.2",
            "main procedure: intradiscal electrothermal therapy, as NICE IPG319 codes it",
        )
    what = _MAIN_PROCEDURE[procedure.procedure_type]
    return _Draft(
        None,
        None,
        f"main procedure ({what}): no NICE coding note in the code table gives this code; "
        "assign it from the official OPCS-4 classification: its code and title are in "
        f"{RELEASE_FILE}",
        False,
    )


def _levels_of_spine(procedure: ProcedureForCoding, table: CodeTable) -> _Draft:
    if not procedure.spinal_levels:
        return _cited(
            table,
            "V55.9",
            "levels of spine in second place for a spinal operation; levels not known",
        )
    levels = sorted(set(procedure.spinal_levels), key=SPINAL_LEVEL_LABELS.index)
    return _Draft(
        "V55.-",
        table.title("V55.-"),
        f"levels of spine in second place for a spinal operation: {', '.join(levels)} "
        f"({len(levels)} level{'s' if len(levels) != 1 else ''}); the V55 subcode for these levels "
        f"is not in the verified code table, so it is left to the coder ({RELEASE_FILE} has the "
        "subcodes and their titles)",
        False,
    )


def _method(procedure: ProcedureForCoding, table: CodeTable) -> _Draft:
    if procedure.procedure_type == "idet":
        return _cited(table, "Y10.2", "method: electrothermal energy, as NICE IPG319 codes IDET")
    return _cited(table, "Y13.4", "method: radiofrequency-controlled thermal destruction")


def _approach(procedure: ProcedureForCoding, table: CodeTable) -> list[_Draft]:
    modalities = list(dict.fromkeys(procedure.image_guidance))
    if procedure.access is None:
        if not modalities:
            return []
        return [
            _Draft(
                "Y53.-",
                table.title("Y53.-"),
                "image guidance recorded but access not recorded: Y53 applies only to percutaneous "
                "interventions, so the approach code cannot be settled",
                False,
            )
        ]
    if procedure.access != "percutaneous":
        return [
            _Draft(
                None,
                None,
                f"{procedure.access} approach: its approach code is not in the verified code "
                f"table; its code and title are in {RELEASE_FILE}",
                False,
            )
        ]
    if not modalities:
        return [
            _cited(
                table, "Y53.9", "percutaneous approach under image control; modality not recorded"
            )
        ]
    drafts = []
    for modality in modalities:
        if modality in _Y53_VERIFIED:
            drafts.append(
                _cited(
                    table,
                    _Y53_VERIFIED[modality],
                    f"percutaneous approach under {modality} control",
                )
            )
            continue
        found = table.find_by_title("Y53", _Y53_TITLE_WORDS.get(modality, ("\0",)))
        if len(found) == 1:
            drafts.append(
                _cited(table, found[0].code, f"percutaneous approach under {modality} control")
            )
        else:
            drafts.append(
                _Draft(
                    "Y53.-",
                    table.title("Y53.-"),
                    f"percutaneous approach under {modality} control: the Y53 subcode for "
                    f"{modality} is not in the verified code table; its code and title are in "
                    f"{RELEASE_FILE}",
                    False,
                )
            )
    return drafts


def _site(procedure: ProcedureForCoding, table: CodeTable) -> _Draft:
    if procedure.procedure_type == "idet":
        return _Draft(
            "Z99.-",
            table.title("Z99.-"),
            "site: intervertebral disc (NICE IPG319 gives the category Z99.-); the subcode for the "
            f"disc level is not in the verified code table ({RELEASE_FILE} has the subcodes and "
            "their titles)",
            False,
        )
    if procedure.is_spinal:
        where = ", ".join(procedure.spinal_levels) or procedure.bone_site or "spine"
        return _Draft(
            None,
            None,
            f"site ({where}): the Z site code is not in the verified code table; its code and "
            f"title are in {RELEASE_FILE}",
            False,
        )
    if procedure.bone_site:
        return _Draft(
            None,
            None,
            f"site ({procedure.bone_site}): the Z site code is not in the verified code table; "
            f"its code and title are in {RELEASE_FILE}",
            False,
        )
    return _Draft(None, None, "site not recorded: the Z site code cannot be determined", False)


def suggest_codes(
    procedure: ProcedureForCoding, table: CodeTable | None = None
) -> list[CodeSuggestion]:
    """The OPCS-4 codes for a procedure, in coding order: main procedure, V55 levels (spinal
    operations), any additional procedure, method, approach, site."""
    table = table or shipped_table()
    drafts = [_main_procedure(procedure, table)]
    if procedure.is_spinal:
        drafts.append(_levels_of_spine(procedure, table))
    if procedure.procedure_type in _ADDITIONAL_PROCEDURE:
        what = _ADDITIONAL_PROCEDURE[procedure.procedure_type]
        drafts.append(
            _Draft(
                None,
                None,
                f"additional procedure ({what}): its code is not in the verified code table; its "
                f"code and title are in {RELEASE_FILE}",
                False,
            )
        )
    drafts.append(_method(procedure, table))
    drafts.extend(_approach(procedure, table))
    drafts.append(_site(procedure, table))
    return [
        CodeSuggestion(
            code=d.code, title=d.title, position=n, rationale=d.rationale, determined=d.determined
        )
        for n, d in enumerate(drafts, start=1)
    ]
