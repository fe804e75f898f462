"""An NHS number is ten ASCII digits: the same number written in another script's digits is
refused everywhere, or one person could be registered once per script (their keyed hashes
differ, so the duplicate check never sees them)."""

import unicodedata

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from tests.factories import VALID_NHS_NUMBERS, login
from thermablate.registry import actions
from thermablate.registry.models import AuditEvent, Patient
from thermablate.registry.validators import normalise_nhs_number, validate_nhs_number

ASCII_DIGITS = "0123456789"
VALID = VALID_NHS_NUMBERS[0]  # 9434765919


def in_script(number: str, zero: str) -> str:
    # Unicode encodes every script's decimal digits 0-9 contiguously (The Unicode Standard,
    # section 4.6, Numeric Value), so digit d of a script is its zero plus d.
    return "".join(chr(ord(zero) + int(d)) for d in number)


def script_zero(digit: str) -> str:
    return chr(ord(digit) - unicodedata.decimal(digit))


FULLWIDTH = in_script(VALID, "\uff10")
ARABIC_INDIC = in_script(VALID, "\u0660")
DEVANAGARI = in_script(VALID, "\u0966")

other_script_digits = st.characters(categories=["Nd"], exclude_characters=ASCII_DIGITS)


def refused(value: str) -> bool:
    try:
        validate_nhs_number(normalise_nhs_number(value))
    except ValidationError:
        return True
    return False


@given(zero_source=other_script_digits)
def test_a_valid_number_written_wholly_in_another_scripts_digits_is_refused(zero_source):
    assert refused(in_script(VALID, script_zero(zero_source)))


@given(
    zero_source=other_script_digits,
    positions=st.sets(st.integers(min_value=0, max_value=9), min_size=1),
)
def test_a_valid_number_with_any_digit_from_another_script_is_refused(zero_source, positions):
    foreign = in_script(VALID, script_zero(zero_source))
    mixed = "".join(foreign[i] if i in positions else VALID[i] for i in range(10))
    assert refused(mixed)
    # Written with the usual spaces, it is still refused.
    assert refused(f"{mixed[:3]} {mixed[3:6]} {mixed[6:]}")


@pytest.mark.parametrize(
    "written",
    [
        "943 476 5919",
        "943-476-5919",
        "9434765919",
    ],
)
def test_the_usual_written_forms_still_normalise(written):
    assert normalise_nhs_number(written) == VALID
    validate_nhs_number(normalise_nhs_number(written))


@pytest.mark.parametrize(
    "written",
    [
        "943\u00a0476\u00a05919",  # no-break space
        "943\u2011476\u20115919",  # non-breaking hyphen
        "943\u2013476\u20135919",  # en dash
        "943\t476\t5919",
        "+9434765919",
        "943476591\u0669",
    ],
)
def test_only_ascii_spaces_and_hyphens_are_removed(written):
    assert refused(written)


def test_the_message_says_which_character_is_not_a_digit():
    with pytest.raises(ValidationError) as error:
        validate_nhs_number(normalise_nhs_number(FULLWIDTH))
    message = " ".join(error.value.messages)
    assert "digits 0 to 9" in message and "FULLWIDTH DIGIT NINE" in message


def test_the_action_refuses_every_script_and_registers_one_patient(site_a, clinician):
    # The reported hazard: one person, four registrations at one site.
    actions.create_patient(
        site=site_a, acting_user=clinician, nhs_number=VALID, year_of_birth=1958, sex="female"
    )
    for written in (FULLWIDTH, ARABIC_INDIC, DEVANAGARI):
        with pytest.raises(ValidationError, match="digits 0 to 9"):
            actions.create_patient(
                site=site_a,
                acting_user=clinician,
                nhs_number=written,
                year_of_birth=1958,
                sex="female",
            )
    assert Patient.objects.count() == 1


@pytest.mark.parametrize("written", [FULLWIDTH, ARABIC_INDIC, DEVANAGARI])
def test_registration_through_the_page_refuses_other_scripts_and_saves_nothing(
    client, coordinator, written
):
    login(client, coordinator)
    response = client.post(
        reverse("patient_create"),
        {"nhs_number": written, "year_of_birth": 1950, "sex": "male"},
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "digits 0 to 9" in page and 'class="nhsuk-error-message"' in page
    assert not Patient.objects.exists()
    assert not AuditEvent.objects.filter(model="patient").exists()


def test_searching_with_fullwidth_digits_finds_nothing_and_does_not_fail(
    client, coordinator, patient
):
    login(client, coordinator)
    response = client.post(reverse("patient_list"), {"q": FULLWIDTH})
    assert response.status_code == 200
    assert patient.registry_number not in response.content.decode()
    assert not AuditEvent.objects.filter(action="search").exists()


def test_the_api_refuses_other_scripts_and_saves_nothing(client, clinician):
    login(client, clinician)
    response = client.post(
        "/api/patients",
        {"nhs_number": FULLWIDTH, "year_of_birth": 1960, "sex": "male"},
        content_type="application/json",
    )
    assert response.status_code == 422
    assert "digits 0 to 9" in response.content.decode()
    assert not Patient.objects.exists()


def test_the_csv_import_refuses_other_scripts_and_imports_nothing(tmp_path, coordinator, capsys):
    csv_file = tmp_path / "patients.csv"
    csv_file.write_text(
        f"nhs_number,year_of_birth,sex\n{VALID},1950,male\n{ARABIC_INDIC},1950,male\n",
        encoding="utf-8",
    )
    with pytest.raises(CommandError, match="nothing imported"):
        call_command("import", "patients", str(csv_file), "--as", coordinator.username)
    assert "line 3: nhs_number" in capsys.readouterr().err
    assert not Patient.objects.exists()


def test_a_number_of_the_wrong_length_says_how_many_digits_it_has():
    with pytest.raises(ValidationError, match="10-digit NHS number; this has 9 digits"):
        validate_nhs_number(normalise_nhs_number("943 476 591"))
