"""OPCS-4 suggestions follow NICE's coding notes (IPG319, seed 003) and never guess a code."""

import pytest

from thermablate.clinical.opcs import (
    ACCESS_ROUTES,
    IMAGE_MODALITIES,
    PROCEDURE_TYPES,
    CodeSuggestion,
    CodeTable,
    OpcsCodeError,
    ProcedureForCoding,
    load_release,
    shipped_table,
    suggest_codes,
    titles_for,
    validate_code,
)

SPINAL_TYPES = ["rfa_spinal_metastasis", "rfa_vertebroplasty", "rfa_kyphoplasty", "idet"]


def codes(suggestions: list[CodeSuggestion]) -> list[str | None]:
    return [s.code for s in suggestions]


def test_idet_is_coded_as_nice_ipg319_codes_it():
    procedure = ProcedureForCoding("idet", access="percutaneous", image_guidance=("fluoroscopy",))
    suggestions = suggest_codes(procedure)
    assert codes(suggestions) == ["V52.2", "V55.9", "Y10.2", "Y53.4", "Z99.-"]
    assert [s.position for s in suggestions] == [1, 2, 3, 4, 5]
    assert (
        suggestions[0].title == "Destruction of intervertebral disc NEC"
        and suggestions[0].determined
    )
    assert suggestions[1].title == "Unspecified levels of spine" and suggestions[1].determined
    assert (
        suggestions[3].title == "Approach to organ under fluoroscopic control"
        and suggestions[3].determined
    )
    # Z99.- is the category NICE states; the disc-level subcode is left to the coder.
    assert not suggestions[4].determined


@pytest.mark.parametrize("procedure_type", SPINAL_TYPES)
def test_every_spinal_operation_has_levels_of_spine_second(procedure_type):
    suggestions = suggest_codes(ProcedureForCoding(procedure_type, access="percutaneous"))
    assert suggestions[1].code in ("V55.9", "V55.-")
    assert suggestions[1].position == 2


@pytest.mark.parametrize("procedure_type", SPINAL_TYPES)
def test_unknown_levels_give_v55_9(procedure_type):
    second = suggest_codes(ProcedureForCoding(procedure_type))[1]
    assert (second.code, second.determined) == ("V55.9", True)


def test_known_levels_are_shown_but_the_subcode_is_not_guessed():
    procedure = ProcedureForCoding(
        "rfa_spinal_metastasis", access="percutaneous", spinal_levels=("L3", "L2", "L4")
    )
    second = suggest_codes(procedure)[1]
    assert second.code == "V55.-" and not second.determined
    assert "L2, L3, L4 (3 levels)" in second.rationale


def test_an_osteoid_osteoma_in_a_long_bone_has_no_levels_of_spine():
    procedure = ProcedureForCoding(
        "osteoid_osteoma_thermocoagulation",
        access="percutaneous",
        image_guidance=("ct",),
        bone_site="femur",
    )
    suggestions = suggest_codes(procedure)
    assert not any(s.code and s.code.startswith("V55") for s in suggestions)
    assert suggestions[-1].code is None and "femur" in suggestions[-1].rationale


def test_an_osteoid_osteoma_in_the_spine_is_a_spinal_operation():
    procedure = ProcedureForCoding("osteoid_osteoma_thermocoagulation", spinal_levels=("L5",))
    assert suggest_codes(procedure)[1].code == "V55.-"


def test_unspecified_modality_gives_y53_9_for_a_percutaneous_procedure():
    suggestions = suggest_codes(ProcedureForCoding("rfa_spinal_metastasis", access="percutaneous"))
    approach = [s for s in suggestions if s.code and s.code.startswith("Y53")]
    assert [(s.code, s.determined) for s in approach] == [("Y53.9", True)]
    assert approach[0].title == "Unspecified approach to organ under image control"


def test_each_modality_gets_its_own_y53_code_and_uncited_ones_stay_undetermined():
    procedure = ProcedureForCoding(
        "rfa_vertebroplasty",
        access="percutaneous",
        image_guidance=("fluoroscopy", "ultrasound", "ct", "mri", "cbct"),
    )
    approach = [s for s in suggest_codes(procedure) if s.code and s.code.startswith("Y53")]
    assert [(s.code, s.determined) for s in approach] == [
        ("Y53.4", True),
        ("Y53.2", True),
        ("Y53.-", False),  # CT: subcode not in the cited table
        ("Y53.-", False),  # MRI
        ("Y53.-", False),  # cone-beam CT
    ]


def test_no_y53_without_a_percutaneous_approach():
    for access in ("surgical", "endoscopic"):
        suggestions = suggest_codes(
            ProcedureForCoding("rfa_spinal_metastasis", access=access, image_guidance=("ct",))
        )
        assert not any(s.code and s.code.startswith("Y53") for s in suggestions)
        assert any(access in s.rationale and not s.determined for s in suggestions)
    unknown_access = suggest_codes(
        ProcedureForCoding("rfa_spinal_metastasis", image_guidance=("ct",))
    )
    assert any(
        s.code == "Y53.-" and not s.determined and "access not recorded" in s.rationale
        for s in unknown_access
    )


def test_undetermined_codes_are_flagged_not_guessed():
    suggestions = suggest_codes(
        ProcedureForCoding("rfa_kyphoplasty", access="percutaneous", spinal_levels=("T12",))
    )
    main, _, additional, method, _, site = suggestions
    assert main.code is None and not main.determined and "main procedure" in main.rationale
    assert additional.code is None and "balloon kyphoplasty" in additional.rationale
    # The RF method code comes from a secondary source only: shown as a candidate, not determined.
    assert method.code == "Y13.4" and not method.determined and "unverified" in method.rationale
    assert site.code is None and not site.determined
    for suggestion in suggestions:
        # Determined means an exact code whose title is cited; a category ("V55.-") never is.
        if suggestion.determined:
            assert shipped_table().is_verified(suggestion.code) and not suggestion.code.endswith(
                "-"
            )
        elif suggestion.code is not None:
            assert suggestion.code.endswith("-") or not shipped_table().is_verified(suggestion.code)


def test_every_shipped_code_states_its_version_and_source():
    table = shipped_table()
    assert {"V52.2", "V55.9", "Y53.9", "Y53.4", "Y53.2", "Y10.2"} <= set(table.entries)
    for entry in table.entries.values():
        assert entry.opcs_version and entry.source and entry.title


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("procedure_type", "rfa_liver"),
        ("access", "laparoscopic"),
        ("approach", "posterior"),
        ("image_guidance", ("xray",)),
        ("spinal_levels", ("L6",)),
    ],
)
def test_it_refuses_values_outside_the_registry_vocabularies(field, value):
    arguments = {"procedure_type": "idet", field: value}
    with pytest.raises(ValueError):
        ProcedureForCoding(**arguments)


@pytest.mark.parametrize("code", ["V55.2", "V55.-", "Y53", "z99.1"])
def test_it_accepts_well_formed_codes(code):
    assert validate_code(code) == code.upper()


@pytest.mark.parametrize("code", ["V5.2", "V552", "55.2", "V55.22", "V55.", "VV5.2", "V55.x", ""])
def test_it_refuses_malformed_codes(code):
    with pytest.raises(OpcsCodeError):
        validate_code(code)


def release_file(tmp_path, lines: list[str], name: str = "OPCS410 CodesAndTitles.txt"):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_load_release_round_trips_a_trud_style_file(tmp_path):
    path = release_file(
        tmp_path,
        [
            "CODE\tTITLE",
            "V55\tLevels of spine",
            "V552\tDestruction of intervertebral disc NEC",
            "Y53.3\tApproach to organ under computed tomography scan control",
            "Y534\tApproach to organ under fluoroscopic control",
            "Y536\tApproach to organ under magnetic resonance imaging control",
            "Y134\tRadiofrequency controlled thermal destruction of lesion of organ NOC",
        ],
    )
    release = load_release(path)
    assert release.release == path.name
    assert (
        release.title("V52.2") is None
        and release.title("V55.2") == "Destruction of intervertebral disc NEC"
    )
    assert release.title("Y53.4") == "Approach to organ under fluoroscopic control"
    assert {e.opcs_version for e in release.entries.values()} == {"4.10"}
    assert set(release.entries) == {"V55", "V55.2", "Y53.3", "Y53.4", "Y53.6", "Y13.4"}


def test_a_loaded_release_settles_what_the_shipped_table_could_not(tmp_path):
    # Titles in this test file are the test's own; the point is how a release is used.
    release = load_release(
        release_file(
            tmp_path,
            [
                "Y533\tApproach to organ under computed tomography scan control",
                "Y534\tApproach to organ under fluoroscopic control (full title)",
                "Y134\tRadiofrequency controlled thermal destruction of lesion of organ NOC",
            ],
        )
    )
    table = shipped_table().merged_with(release)
    procedure = ProcedureForCoding(
        "rfa_spinal_metastasis", access="percutaneous", image_guidance=("ct", "fluoroscopy")
    )
    by_code = {s.code: s for s in suggest_codes(procedure, table)}
    assert by_code["Y53.3"].determined  # found by its title in the official release
    assert by_code["Y53.4"].title == "Approach to organ under fluoroscopic control (full title)"
    assert by_code["Y13.4"].determined  # the release confirms the candidate's title


def test_a_release_that_contradicts_a_candidate_is_believed(tmp_path):
    release = load_release(release_file(tmp_path, ["Y134\tSomething else entirely"]))
    method = [
        s
        for s in suggest_codes(
            ProcedureForCoding("rfa_spinal_metastasis"), shipped_table().merged_with(release)
        )
        if s.code == "Y13.4"
    ][0]
    assert method.title == "Something else entirely"
    assert method.determined  # the official file is the authority for its own titles


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (["V5X2\tBad code"], "line 1: malformed OPCS-4 code 'V5X2'"),
        (["V552\tDestruction", "V55.22\tToo long"], "line 2: malformed"),
        (["V552"], "line 1: code V55.2 has no title"),
        (["V552\tOne", "V55.2\tTwo"], "line 2: code V55.2 has two titles"),
        ([""], "no OPCS-4 codes found"),
    ],
)
def test_load_release_refuses_a_bad_file_with_the_line(tmp_path, lines, message):
    with pytest.raises(OpcsCodeError, match=message):
        load_release(release_file(tmp_path, lines))


def test_installing_a_release_is_all_or_nothing_and_feeds_the_suggestions(tmp_path, capsys):
    from thermablate.clinical.opcs import code_table, load_main

    good = release_file(
        tmp_path, ["Y533\tApproach to organ under computed tomography scan control"]
    )
    data_dir = tmp_path / "data"
    assert load_main([str(good), "--data-dir", str(data_dir)]) == 0
    assert "loaded 1 OPCS-4 codes (version 4.10)" in capsys.readouterr().out

    bad = release_file(tmp_path, ["Y53X\tBroken"], name="broken.txt")
    assert load_main([str(bad), "--data-dir", str(data_dir)]) == 2
    assert "malformed OPCS-4 code 'Y53X'" in capsys.readouterr().err
    # The good release is still the installed one.
    table = code_table(data_dir)
    assert table.release == good.name
    procedure = ProcedureForCoding(
        "rfa_spinal_metastasis", access="percutaneous", image_guidance=("ct",)
    )
    assert any(s.code == "Y53.3" and s.determined for s in suggest_codes(procedure, table))
    assert code_table(tmp_path / "empty").release is None


def test_the_shipped_table_is_versioned_and_names_its_sources():
    table = shipped_table()
    assert table.version == "2"
    assert any("IPG319" in source and "seed 003" in source for source in table.sources)
    # Loading a release keeps the description of the table it was merged into.
    assert table.merged_with(CodeTable(release="x.txt")).version == "2"


def test_the_codes_nice_ipg319_cites_have_their_titles_without_a_release_file():
    # The 'OPCS4.6 Code(s)' list and coding notes of NICE IPG319 (seed 003).
    cited = {
        "V52.2": "Destruction of intervertebral disc NEC",
        "V55.-": "Levels of spine",
        "V55.9": "Unspecified levels of spine",
        "Y10.2": "Electrocauterisation of organ",
        "Y53.-": "Approach to organ under image control",
        "Y53.9": "Unspecified approach to organ under image control",
        "Z99.-": "Intervertebral disc",
    }
    titled = titles_for(cited, shipped_table())
    assert {t.code: t.title for t in titled} == cited
    assert not any(t.needs_release for t in titled)


def test_titles_for_marks_what_only_the_release_file_can_title():
    stated = {"T85.2": "Block dissection of lymph nodes"}  # as a citing page states it
    by_code = {t.code: t for t in titles_for(["Y53.3", "Y13.4", "T85.2"], shipped_table(), stated)}
    assert by_code["Y53.3"].title is None and by_code["Y53.3"].needs_release
    # A candidate from a secondary source is shown, but still needs the release to confirm it.
    assert by_code["Y13.4"].title and by_code["Y13.4"].needs_release
    assert by_code["T85.2"].title == stated["T85.2"] and not by_code["T85.2"].needs_release


@pytest.mark.parametrize("procedure_type", PROCEDURE_TYPES)
@pytest.mark.parametrize("access", [None, *ACCESS_ROUTES])
@pytest.mark.parametrize("guidance", [(), *((m,) for m in IMAGE_MODALITIES)])
def test_every_suggestion_reads_in_words_without_a_release_file(procedure_type, access, guidance):
    suggestions = suggest_codes(
        ProcedureForCoding(procedure_type, access=access, image_guidance=guidance)
    )
    for suggestion in suggestions:
        if suggestion.code is not None:
            assert suggestion.title, f"{suggestion.code} has no title"
        else:
            # No code: the rationale says where its code and title are to be found, or what
            # the record lacks (a site not recorded).
            assert (
                "official OPCS-4 release file" in suggestion.rationale
                or "not recorded" in suggestion.rationale
            )
