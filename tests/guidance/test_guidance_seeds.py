"""The five source documents, read field by field (every field of every record is asserted)."""

from pathlib import Path

import pytest

from thermablate.guidance.parser import parse

SEEDS = Path(__file__).resolve().parents[2].parent / "shared" / "seeds"

pytestmark = pytest.mark.skipif(
    not SEEDS.is_dir(), reason="../shared/seeds is not beside the repository"
)

EMPTY = {
    "guidance_id": None,
    "project_id": None,
    "title": None,
    "programme": None,
    "status": None,
    "decision": None,
    "technology_type": None,
    "process": None,
    "recommendation": None,
    "conditions": [],
    "replaces": [],
    "replaced_by": [],
    "key_efficacy_outcomes": [],
    "key_safety_outcomes": [],
    "opcs_version": None,
    "opcs_codes": [],
    "opcs_titles": {},
    "dates": {},
    "unparsed": [],
    "notes": [],
}

EXPECTED = {
    "000_b70ca82c244fdf85.txt": {
        "kind": "final",
        "title": "Computed tomography-guided thermocoagulation of osteoid osteoma",
        # The old-style page states neither its id, nor a recommendation, nor a date: reported,
        # not guessed (the "special arrangements" and Yellow Card lines are boilerplate).
        "unparsed": ["guidance_id", "recommendation", "dates.published"],
    },
    "001_ec339d235d52d150.txt": {
        "kind": "in_development",
        "project_id": "1783",
        "programme": "interventional_procedures",
        "status": "In progress",
        "decision": "Selected",
        "technology_type": "Procedure",
        "process": "IP",
        "dates": {
            "expected_publication": "2023-03-29",
            "ipac_1": "2022-09-08",
            "consultation_start": "2022-10-14",
            "consultation_end": "2022-11-11",
            "ipac_2": "2023-01-12",
        },
        "unparsed": ["title"],
    },
    "002_b44e55e401da8434.txt": {
        "kind": "final",
        "guidance_id": "HTG670",
        "title": (
            "Radiofrequency ablation as an adjunct to balloon kyphoplasty or percutaneous "
            "vertebroplasty for palliation of painful spinal metastases"
        ),
        "programme": "healthtech",
        "recommendation": "standard",
        "conditions": ["mdt_selection", "operator_training", "audit_tool", "register_submission"],
        "replaces": ["IPG759"],
        "key_efficacy_outcomes": [
            "reduction in pain",
            "reduction in use of analgesics (especially opioids)",
            "health-related quality of life",
        ],
        "key_safety_outcomes": [
            "cement leakage",
            "infection",
            "thermal damage to adjacent structures (including neurological damage)",
        ],
        "dates": {"published": "2023-04-05", "update": "2026-01"},
    },
    "003_2421075459eb7e4d.txt": {
        "kind": "final",
        "title": "Percutaneous intradiscal electrothermal therapy for low back pain",
        "programme": "interventional_procedures",
        "replaces": ["IPG81"],
        "opcs_version": "4.6",
        "opcs_codes": ["V52.2", "V55.-", "Y10.2", "Y53.-", "Z99.-"],
        "opcs_titles": {
            "V52.2": "Destruction of intervertebral disc NEC",
            "V55.-": "Levels of spine",
            "Y10.2": "Electrocauterisation of organ",
            "Y53.-": "Approach to organ under image control",
            "Z99.-": "Intervertebral disc",
        },
        "dates": {"ipg81_published": "2004-08"},
        "unparsed": ["guidance_id", "recommendation", "dates.published"],
    },
    "004_c77ad4b60a2c5b25.txt": {
        "kind": "consultation",
        "title": "Radiofrequency ablation for palliation of painful spinal metastases",
        "programme": "interventional_procedures",
        "recommendation": "special",
        "conditions": [
            "mdt_selection",
            "operator_training",
            "inform_governance_leads",
            "written_information",
            "understand_uncertainties",
            "audit",
            "audit_tool",
            "annual_appraisal",
            "outcome_data_systems",
            "regular_outcome_review",
            "research_encouraged",
        ],
        "key_efficacy_outcomes": [
            "reduction in pain",
            "reduction in use of analgesics (especially opioids)",
            "health-related quality of life",
        ],
        "key_safety_outcomes": [
            "infection",
            "thermal damage to adjacent structures, including neurological damage",
        ],
        "dates": {
            "consultation_end": "2022-11-11",
            "expected_publication": "2023-04",
            "issued": "2022-10",
        },
    },
}


def parsed(name: str) -> dict:
    return parse((SEEDS / name).read_text(encoding="utf-8"), source=name).to_dict()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_it_reads_every_field_of_each_seed(name):
    expected = {**EMPTY, **EXPECTED[name], "source": name}
    assert parsed(name) == expected


def test_it_names_the_seed_files_the_readme_lists():
    assert sorted(p.name for p in SEEDS.glob("0*.txt")) == sorted(EXPECTED)


def test_it_gives_the_same_record_for_html_wrapped_seed_text():
    # A saved web page of the same document must read the same (HTML path vs plain path).
    text = (SEEDS / "002_b44e55e401da8434.txt").read_text(encoding="utf-8")
    paragraphs = "".join(f"<p>{line}</p>\n" for line in text.splitlines())
    html = f"<!DOCTYPE html><html><body><main>{paragraphs}</main></body></html>"
    assert {**parse(html).to_dict(), "source": None} == {
        **parsed("002_b44e55e401da8434.txt"),
        "source": None,
    }
