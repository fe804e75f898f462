import pytest

from thermablate.guidance.dates import NiceDate, is_tbc, parse_date_range, parse_nice_date
from thermablate.guidance.ids import (
    GuidanceIdError,
    find_guidance_ids,
    id_from_address,
    parse_guidance_id,
    programme_of,
    project_gid,
)


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("12 March 2025", "2025-03-12"),
        ("08 September 2022", "2022-09-08"),
        ("Published: 5 April 2023", "2023-04-05"),
        ("March 2025", "2025-03"),
        ("Target date for publication of guidance: April 2023", "2023-04"),
        ("1st Sept 2019", "2019-09-01"),
    ],
)
def test_it_reads_nice_dates_keeping_their_precision(text, iso):
    assert parse_nice_date(text).isoformat() == iso


@pytest.mark.parametrize(
    "text", ["TBC", "to be confirmed", "31 February 2023", "Marchmont 2023", ""]
)
def test_it_gives_no_date_rather_than_a_wrong_one(text):
    assert parse_nice_date(text) is None


def test_it_reads_ranges_and_tbc():
    start, end = parse_date_range("consultation 14 October 2022 - 11 November 2022")
    assert (start.isoformat(), end.isoformat()) == ("2022-10-14", "2022-11-11")
    assert parse_date_range("14 October 2022") is None
    assert is_tbc("Expected publication TBC") and not is_tbc("Expected publication 29 March 2023")


def test_it_round_trips_iso_dates_and_refuses_impossible_ones():
    assert NiceDate.fromisoformat("2023-04") == NiceDate(2023, 4)
    assert NiceDate.fromisoformat("2023-04-05") == NiceDate(2023, 4, 5)
    with pytest.raises(ValueError):
        NiceDate(2023, 2, 30)
    with pytest.raises(ValueError):
        NiceDate.fromisoformat("5 April 2023")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("IPG53", "IPG53"),
        ("ipg 053", "IPG53"),
        ("HTG-670", "HTG670"),
        ("TA279", "TA279"),
        ("NG203", "NG203"),
    ],
)
def test_it_normalises_guidance_ids(text, expected):
    assert parse_guidance_id(text) == expected


@pytest.mark.parametrize("text", ["IPG", "53", "XYZ12", "IPG53a", "IPG 12345", ""])
def test_it_refuses_malformed_guidance_ids(text):
    with pytest.raises(GuidanceIdError):
        parse_guidance_id(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("(Interventional Procedures Guidance no. 81, August 2004)", ["IPG81"]),
        ("(NICE interventional procedures guidance 1 and 94)", ["IPG1", "IPG94"]),
        ("replaces interventional procedure guidance 447 (published March 2013)", ["IPG447"]),
        (
            "Interventional procedures guidance 759 has been migrated to HealthTech guidance 670.",
            ["IPG759", "HTG670"],
        ),
        ("(Technology appraisal guidance; no. 279)", ["TA279"]),
        ("See www.nice.org.uk/guidance/htg670 and IPG759.", ["HTG670", "IPG759"]),
        ("data on stamina and 12 people", []),
    ],
)
def test_it_finds_ids_however_nice_writes_them(text, expected):
    assert find_guidance_ids(text) == expected


def test_it_takes_ids_from_addresses_and_file_names_only():
    assert id_from_address("https://www.nice.org.uk/guidance/ipg53/chapter/1-Guidance") == "IPG53"
    assert id_from_address("downloads/IPG759-overview.pdf") == "IPG759"
    assert id_from_address("000_b70ca82c244fdf85.txt") is None
    assert id_from_address("/data/ta1/notes.txt") is None
    assert (
        project_gid("https://www.nice.org.uk/guidance/indevelopment/gid-ipg10336") == "GID-IPG10336"
    )
    assert programme_of("HTG670") == "healthtech" and programme_of("nonsense") is None
