import json
import shutil
from pathlib import Path

import pytest

from thermablate.clinical import bpi, eq5d, odi
from thermablate.clinical import questionnaire_wording as qw

WORDING_DIR = Path(__file__).parent / "data" / "wording"
EXAMPLE = WORDING_DIR / "eq5d5l.en-GB.json"


def example():
    return json.loads(EXAMPLE.read_text(encoding="utf-8"))


def write(tmp_path, data, name="eq5d5l.en-GB.json"):
    path = tmp_path / name
    path.write_text(json.dumps(data) if not isinstance(data, str) else data, encoding="utf-8")
    return path


# --- the structure ---------------------------------------------------------------------


def test_the_structure_follows_the_scoring_modules():
    assert [i.key for i in qw.instrument("eq5d5l").items] == [*eq5d.DIMENSIONS, "vas"]
    assert [i.key for i in qw.instrument("odi").items] == list(odi.SECTIONS)
    # Worst and average pain are asked once, by "pain"; the BPI asks the rest.
    assert [i.key for i in qw.instrument("pain").items] == ["worst", "average"]
    assert [i.key for i in qw.instrument("bpi").items] == ["least", "now", *bpi.INTERFERENCE_ITEMS]
    assert set(bpi.SEVERITY_ITEMS) <= {"worst", "average", "least", "now"}
    assert qw.instrument("eq5d5l").item("mobility").values == range(1, 6)
    assert qw.instrument("eq5d5l").item("vas").values == range(0, 101)
    assert qw.instrument("odi").item("lifting").values == range(0, 6)
    assert qw.instrument("bpi").item("mood").values == range(0, 11)


def test_copyrighted_instruments_name_their_rights_holder():
    assert not qw.instrument("pain").copyrighted
    assert "EuroQol" in qw.instrument("eq5d5l").rights_holder
    assert "Mapi" in qw.instrument("odi").rights_holder
    assert "Cleeland" in qw.instrument("bpi").rights_holder


def test_unknown_instrument_or_item():
    with pytest.raises(ValueError, match="unknown questionnaire instrument 'sf36'"):
        qw.instrument("sf36")
    with pytest.raises(ValueError, match="has no item 'walking'"):
        qw.neutral_wording().question("eq5d5l", "walking")


# --- the neutral labels ----------------------------------------------------------------


def test_without_files_every_instrument_has_neutral_labels():
    wording = qw.load_wording(None, "en-GB")
    assert wording.question("eq5d5l", "mobility") == "Mobility"
    assert wording.answer_label("eq5d5l", "mobility", 1) == "Level 1 (no problems)"
    assert wording.answer_label("eq5d5l", "mobility", 5) == "Level 5 (unable)"
    assert wording.answer_label("eq5d5l", "pain_discomfort", 5) == "Level 5 (extreme problems)"
    assert wording.question("odi", "pain_intensity") == "Section 1: pain intensity"
    assert wording.question("odi", "travelling") == "Section 10: travelling"
    assert wording.answer_label("odi", "pain_intensity", 0) == "0 (least)"
    assert wording.answer_label("odi", "pain_intensity", 5) == "5 (most)"
    assert wording.question("bpi", "general_activity") == "Pain interference with general activity"
    assert wording.answer_label("bpi", "general_activity", 0) == "Does not interfere"
    assert wording.answer_label("bpi", "general_activity", 10) == "Completely interferes"
    assert wording.answer_label("pain", "worst", 0) == "No pain"
    assert wording.question("pain", "average") == "Your average pain in the last 24 hours"


def test_neutral_labels_are_unlicensed_english_and_owe_no_notice():
    wording = qw.load_wording(None, "cy")
    for name in qw.INSTRUMENTS:
        assert not wording.licensed(name)
        assert wording.notice(name) == ""
        assert wording[name].language == qw.NEUTRAL_LANGUAGE
        assert wording[name].version == qw.NEUTRAL_VERSION
        assert wording[name].source_file is None
    assert wording.notices == ()


def test_every_choice_is_labelled_and_scales_label_their_ends():
    wording = qw.neutral_wording()
    for name, structure in qw.INSTRUMENTS.items():
        for item in structure.items:
            assert wording.question(name, item.key)
            for value in item.values:
                label = wording.answer_label(name, item.key, value)
                if item.kind == "choice" or value in (item.minimum, item.maximum):
                    assert label, (name, item.key, value)
                else:
                    assert label == ""


def test_answer_label_refuses_a_value_outside_the_item():
    wording = qw.neutral_wording()
    with pytest.raises(ValueError, match="from 1 to 5, got 6"):
        wording.answer_label("eq5d5l", "mobility", 6)
    with pytest.raises(ValueError, match="from 0 to 10"):
        wording.answer_label("bpi", "mood", True)


# --- a site's file ---------------------------------------------------------------------


def test_the_example_file_loads_from_the_directory():
    wording = qw.load_wording(WORDING_DIR, "en-GB")
    eq = wording["eq5d5l"]
    assert eq.licensed and wording.licensed("eq5d5l")
    assert eq.source_file == EXAMPLE
    assert wording.question("eq5d5l", "mobility") == "Example question for mobility"
    assert wording.answer_label("eq5d5l", "mobility", 3) == "Example answer 3 for mobility"
    assert wording.answer_label("eq5d5l", "vas", 100) == "Example label for 100"
    assert wording.answer_label("eq5d5l", "vas", 50) == ""
    assert eq.instructions == "Example instructions for the placeholder questionnaire."
    assert wording.notice("eq5d5l") == (
        "EQ-5D-5L wording used under licence from Example Licence Holder, "
        "Example placeholder version (not the licensed wording)"
    )
    assert wording.notices == (wording.notice("eq5d5l"),)
    # The instruments without a file keep the neutral labels.
    assert not wording.licensed("odi")
    assert wording.question("odi", "lifting") == "Section 3: lifting"


def test_languages_match_without_regard_to_case_and_never_fall_back():
    assert qw.load_wording(WORDING_DIR, "en-gb").licensed("eq5d5l")
    # A licensed wording is licensed per language version: "en" is not "en-GB".
    assert not qw.load_wording(WORDING_DIR, "en").licensed("eq5d5l")
    assert not qw.load_wording(WORDING_DIR, "cy").licensed("eq5d5l")


def test_a_single_file_can_be_loaded():
    wording = qw.load_wording(EXAMPLE, "en-GB")
    assert wording.licensed("eq5d5l")
    assert wording.answer_label("eq5d5l", "self_care", 2) == "Example answer 2 for self-care"


def test_a_file_for_pain_needs_no_licence(tmp_path):
    data = {
        "format": qw.FORMAT,
        "instrument": "pain",
        "language": "cy",
        "version": "Example translation 1",
        "items": {
            key: {"question": f"Example question {key}", "answers": {"0": "Zero", "10": "Ten"}}
            for key in ("worst", "average")
        },
    }
    write(tmp_path, data, "pain.cy.json")
    wording = qw.load_wording(tmp_path, "cy")
    assert wording.question("pain", "worst") == "Example question worst"
    assert wording["pain"].language == "cy"
    assert not wording.licensed("pain")
    assert wording.notice("pain") == ""


def test_every_file_in_the_directory_can_be_checked(tmp_path):
    shutil.copy(EXAMPLE, tmp_path / "eq5d5l.en-GB.json")
    welsh = example()
    welsh["language"] = "cy"
    write(tmp_path, welsh, "eq5d5l.cy.json")
    checked = qw.read_wording_dir(tmp_path)
    assert sorted(w.language for w in checked) == ["cy", "en-GB"]


def test_the_file_name_convention():
    assert qw.wording_file_name("eq5d5l", "en-GB") == "eq5d5l.en-GB.json"


# --- each kind of invalid file ---------------------------------------------------------


def mutate(change):
    data = example()
    change(data)
    return data


def drop(path):
    def change(data):
        *parents, last = path
        target = data
        for key in parents:
            target = target[key]
        del target[last]

    return change


def put(path, value):
    def change(data):
        *parents, last = path
        target = data
        for key in parents:
            target = target[key]
        target[last] = value

    return change


@pytest.mark.parametrize(
    ("change", "item", "message"),
    [
        (drop(["format"]), None, "the file is missing 'format'"),
        (put(["format"], "other/2"), None, "format must be 'thermablate-questionnaire-wording/1'"),
        (put(["comment"], "hello"), None, "the file has unexpected 'comment'"),
        (put(["instrument"], "sf36"), None, "instrument must be one of pain, eq5d5l, odi, bpi"),
        (put(["language"], ""), None, "language must be a non-empty string"),
        (put(["language"], "English"), None, "language must be a language tag"),
        (put(["version"], "  "), None, "version must be a non-empty string"),
        (drop(["licence"]), None, "'licence' (holder and reference) is required"),
        (put(["licence"], "yes"), None, "licence must be an object"),
        (drop(["licence", "reference"]), None, "licence is missing 'reference'"),
        (put(["licence", "holder"], ""), None, "licence holder must be a non-empty string"),
        (put(["licence", "expires"], "2030"), None, "licence has unexpected 'expires'"),
        (put(["instructions"], 3), None, "instructions must be a non-empty string"),
        (put(["items"], []), None, "items must be an object"),
        (drop(["items", "self_care"]), None, "EQ-5D-5L items missing: self_care"),
        (put(["items", "walking"], {}), None, "not items of EQ-5D-5L: 'walking'"),
        (put(["items", "mobility"], "Mobility"), "mobility", "must be an object"),
        (drop(["items", "mobility", "question"]), "mobility", "the item is missing 'question'"),
        (put(["items", "mobility", "note"], "x"), "mobility", "the item has unexpected 'note'"),
        (put(["items", "mobility", "question"], ""), "mobility", "question must be a non-empty"),
        (put(["items", "mobility", "answers"], ["a"]), "mobility", "answers must be an object"),
        (drop(["items", "mobility", "answers", "3"]), "mobility", "answer 3 has no label"),
        (
            put(["items", "mobility", "answers", "6"], "Six"),
            "mobility",
            "answer 6 is not an answer",
        ),
        (put(["items", "mobility", "answers", "01"], "One"), "mobility", "must be a whole number"),
        (put(["items", "mobility", "answers", "2"], " "), "mobility", "label of answer 2"),
        (put(["items", "mobility", "answers", "2"], None), "mobility", "label of answer 2"),
        (put(["items", "vas", "answers", "50"], "Half"), "vas", "only the ends, 0 and 100"),
        (drop(["items", "vas", "answers", "100"]), "vas", "answer 100 has no label"),
    ],
)
def test_an_invalid_file_names_the_file_item_and_problem(tmp_path, change, item, message):
    path = write(tmp_path, mutate(change))
    with pytest.raises(qw.WordingFileError) as caught:
        qw.load_wording(tmp_path, "en-GB")
    error = caught.value
    assert error.path == path
    assert error.item == item
    assert str(path) in str(error)
    assert message in str(error)
    if item:
        assert f"item {item!r}" in str(error)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "not valid JSON"),
        ("[]", "must hold one JSON object"),
        ('{"format": "a", "format": "b"}', "key 'format' appears twice"),
    ],
)
def test_a_file_that_is_not_a_wording_object(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(qw.WordingFileError, match=message) as caught:
        qw.read_wording_file(path)
    assert caught.value.path == path


def test_a_file_that_is_not_utf8(tmp_path):
    path = tmp_path / "eq5d5l.en-GB.json"
    path.write_bytes(b'{"format": "\xff"}')
    with pytest.raises(qw.WordingFileError, match="not UTF-8"):
        qw.read_wording_file(path)


def test_a_file_whose_name_and_content_disagree(tmp_path):
    write(tmp_path, example(), "odi.en-GB.json")
    with pytest.raises(qw.WordingFileError, match="named for odi but holds instrument 'eq5d5l'"):
        qw.load_wording(tmp_path, "en-GB")
    other = tmp_path / "other"
    other.mkdir()
    write(other, mutate(put(["language"], "cy")), "eq5d5l.en-GB.json")
    with pytest.raises(qw.WordingFileError, match="for language 'cy', not 'en-GB'"):
        qw.load_wording(other, "en-GB")


def test_a_misnamed_file_is_not_silently_ignored(tmp_path):
    write(tmp_path, example(), "eq5d.en-GB.json")
    with pytest.raises(qw.WordingFileError, match="named <instrument>.<language>.json"):
        qw.load_wording(tmp_path, "en-GB")


def test_two_files_for_one_instrument_and_language(tmp_path):
    write(tmp_path, example(), "eq5d5l.en-GB.json")
    write(tmp_path, example(), "eq5d5l.en-gb.json")
    if len(list(tmp_path.iterdir())) < 2:
        pytest.skip("case-insensitive file system")
    with pytest.raises(qw.WordingFileError, match="a second file for eq5d5l"):
        qw.load_wording(tmp_path, "en-GB")


def test_a_missing_directory_or_bad_language(tmp_path):
    with pytest.raises(qw.WordingFileError, match="no such wording directory or file"):
        qw.load_wording(tmp_path / "absent", "en-GB")
    with pytest.raises(ValueError, match="language must be a language tag"):
        qw.load_wording(None, "../etc")
    with pytest.raises(qw.WordingFileError, match="no such file"):
        qw.read_wording_file(tmp_path / "absent.json")


def test_files_of_other_languages_are_not_read_when_loading_one(tmp_path):
    shutil.copy(EXAMPLE, tmp_path / "eq5d5l.en-GB.json")
    write(tmp_path, mutate(drop(["items", "vas"])) | {"language": "cy"}, "eq5d5l.cy.json")
    assert qw.load_wording(tmp_path, "en-GB").licensed("eq5d5l")
    with pytest.raises(qw.WordingFileError, match="items missing: vas"):
        qw.load_wording(tmp_path, "cy")
    with pytest.raises(qw.WordingFileError, match="items missing: vas"):
        qw.read_wording_dir(tmp_path)


def test_the_example_holds_no_licensed_text():
    # The repository ships placeholder text only: every question and label says "Example".
    data = example()
    for wording in data["items"].values():
        assert wording["question"].startswith("Example")
        assert all(label.startswith("Example") for label in wording["answers"].values())
