"""The shipped catalogue agrees with what the parser reads from each source document."""

from pathlib import Path

import pytest

from thermablate.clinical.opcs import shipped_table
from thermablate.guidance.catalogue import catalogue_entry, load_catalogue
from thermablate.guidance.parser import parse
from thermablate.guidance.record import GuidanceRecord

SEEDS = Path(__file__).resolve().parents[2].parent / "shared" / "seeds"
# Bookkeeping fields, not facts about the guidance.
BOOKKEEPING = {"source", "unparsed", "notes"}


def test_it_has_an_entry_per_source_document_each_citing_it():
    entries = load_catalogue()
    assert [e.key for e in entries if e.source_document["file"]] == [
        "IPG53",
        "ID1783",
        "HTG670",
        "IPG319",
        "IPCD-2022-RFA-SPINAL-METASTASES",
    ]
    # Beside the seeds, guidance read from NICE's own pages and quoted (test_ipg544_entry.py).
    assert [e.key for e in entries if not e.source_document["file"]] == ["IPG544"]
    for entry in entries:
        assert {"file", "title", "guidance_id", "date"} <= set(
            entry.source_document
        ) or "project_id" in entry.source_document
        assert entry.source_document["title"]
        assert isinstance(entry.record, GuidanceRecord)


@pytest.mark.skipif(not SEEDS.is_dir(), reason="../shared/seeds is not beside the repository")
@pytest.mark.parametrize(
    "entry", [e for e in load_catalogue() if e.source_document["file"]], ids=lambda e: e.key
)
def test_it_agrees_with_the_parser_except_where_filled_by_hand(entry):
    read = parse((SEEDS / entry.source_document["file"]).read_text(encoding="utf-8")).to_dict()
    shipped = entry.record.to_dict()
    differing = {
        name for name in shipped if name not in BOOKKEEPING and shipped[name] != read[name]
    }
    # Every difference is a value the parser could not read, filled by hand with a reason.
    assert differing <= set(entry.hand_filled)
    for name in differing:
        assert read[name] in (None, [], {}), (
            f"{entry.key}.{name}: the catalogue contradicts the document"
        )


def test_it_records_the_facts_the_product_relies_on():
    htg670 = catalogue_entry("HTG670").record
    assert htg670.replaces == ("IPG759",)
    assert htg670.recommendation == "standard"
    assert catalogue_entry("IPG319").record.replaces == ("IPG81",)
    assert catalogue_entry("IPG319").record.opcs_codes == (
        "V52.2",
        "V55.-",
        "Y10.2",
        "Y53.-",
        "Z99.-",
    )
    assert catalogue_entry("ID1783").record.project_id == "1783"
    assert catalogue_entry("IPCD-2022-RFA-SPINAL-METASTASES").record.recommendation == "special"
    assert catalogue_entry("IPG53").record.guidance_id == "IPG53"
    with pytest.raises(KeyError):
        catalogue_entry("IPG1")


def test_every_code_the_shipped_guidance_cites_is_titled_in_the_shipped_code_table():
    # So the catalogue and the coding suggestions read in words without the licensed release.
    table = shipped_table()
    cited = [
        (e.key, code, e.record.opcs_titles.get(code))
        for e in load_catalogue()
        for code in e.record.opcs_codes
    ]
    assert cited, "the shipped guidance cites OPCS-4 codes (IPG319)"
    for key, code, stated in cited:
        assert table.is_verified(code), f"{key} cites {code}, which has no cited title"
        assert table.title(code) == stated, f"{code}: the table and {key} disagree on its title"
