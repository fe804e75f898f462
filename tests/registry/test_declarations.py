"""One declaration per record (registry/declarations.py): every consumer covers every field.

If a field is added to a declaration, each of these follows without an edit of its own; if a
consumer is ever written out by hand again and misses a field, its test here fails.
"""

import pytest

from thermablate.audit.exports import csv_export, records
from thermablate.registry import api, api_records, forms, imports
from thermablate.registry import api_record_corrections as corrections
from thermablate.registry import declarations as d
from thermablate.registry.declarations import RecordFields

FORMS = {
    d.PATIENT: forms.PatientForm,
    d.LESION: forms.LesionForm,
    d.MDT_DECISION: forms.MdtDecisionForm,
    d.CONSENT: forms.ConsentForm,
    d.PROCEDURE: forms.ProcedureForm,
    d.ABLATION_CYCLE: forms.AblationCycleForm,
    d.ASSESSMENT: forms.AssessmentForm,
    d.ANALGESIC: forms.AnalgesicForm,
    d.ADVERSE_EVENT: forms.AdverseEventForm,
}
API_INPUT = {
    d.PATIENT: api.PatientIn,
    d.LESION: api.LesionIn,
    d.MDT_DECISION: api.MdtIn,
    d.CONSENT: api.ConsentIn,
    d.PROCEDURE: api.ProcedureIn,
    d.ABLATION_CYCLE: api_records.CycleIn,
    d.ASSESSMENT: api.AssessmentIn,
    d.ANALGESIC: api.AnalgesicIn,
    d.ADVERSE_EVENT: api.AdverseEventIn,
}
API_OUTPUT = {
    d.PATIENT: api.PatientOut,
    d.LESION: api.LesionOut,
    d.PROCEDURE: api_records.ProcedureOut,
    d.ABLATION_CYCLE: api_records.CycleOut,
    d.ASSESSMENT: api.AssessmentOut,
    d.ANALGESIC: api.AnalgesicOut,
    d.ADVERSE_EVENT: api.AdverseEventOut,
}

# A correction sends the whole record, read and returned whole.
API_CORRECTION = {
    d.LESION: (corrections.LesionCorrection, corrections.LesionRecord),
    d.MDT_DECISION: (corrections.MdtCorrection, corrections.MdtDecisionOut),
    d.CONSENT: (corrections.ConsentCorrection, corrections.ConsentOut),
    d.PROCEDURE: (corrections.ProcedureCorrection, api_records.ProcedureOut),
    d.ADVERSE_EVENT: (corrections.AdverseEventCorrection, corrections.AdverseEventRecord),
}


def api_names(record: RecordFields) -> set[str]:
    """A foreign key travels as its id (lesion -> lesion_id)."""
    names = set()
    for name in record.fields:
        f = record.model_field(name)
        names.add(name if f.many_to_many else f.attname)
    return names


def named(record):
    return record.model.__name__


def test_every_record_has_a_declaration_for_each_consumer():
    assert set(FORMS) == set(d.ALL) == set(API_INPUT)


@pytest.mark.parametrize("record", d.ALL, ids=named)
def test_the_page_form_asks_every_declared_field(record):
    assert tuple(FORMS[record]._meta.fields) == record.fields


@pytest.mark.parametrize("record", d.ALL, ids=named)
def test_the_api_accepts_every_declared_field(record):
    assert api_names(record) <= set(API_INPUT[record].model_fields)


@pytest.mark.parametrize("record", list(API_OUTPUT), ids=named)
def test_the_api_returns_every_declared_field_but_identifiers_to_whom_may_see_them(record):
    assert api_names(record) <= set(API_OUTPUT[record].model_fields)


@pytest.mark.parametrize("record", d.ALL, ids=named)
def test_the_api_requires_what_the_page_requires(record):
    schema = API_INPUT[record]
    for name in record.fields:
        f = record.model_field(name)
        key = name if f.many_to_many else f.attname
        has_default = f.has_default() and not callable(f.default)
        if record.is_required(name) and not has_default:
            assert schema.model_fields[key].is_required(), name


@pytest.mark.parametrize("record", list(API_CORRECTION), ids=named)
def test_an_api_correction_takes_and_returns_every_declared_field_as_recording_does(record):
    given, returned = API_CORRECTION[record]
    assert api_names(record) <= set(given.model_fields)
    assert api_names(record) <= set(returned.model_fields)
    for name in api_names(record):
        assert given.model_fields[name].is_required() == (
            API_INPUT[record].model_fields[name].is_required()
        ), name
    assert given.model_fields["reason"].is_required()
    assert given.model_fields["version"].is_required()


IMPORTED = {
    d.PATIENT: {*imports.PATIENT_COLUMNS, *d.PATIENT.optional},
    d.PROCEDURE: {*imports.PROCEDURE_COLUMNS, *imports.PROCEDURE_OPTIONAL},
    d.ASSESSMENT: {*imports.ASSESSMENT_COLUMNS, *d.ASSESSMENT.optional},
    d.ANALGESIC: set(imports.ANALGESIC_COLUMNS),
}


@pytest.mark.parametrize("record", list(IMPORTED), ids=named)
def test_the_csv_import_takes_every_declared_field(record):
    assert set(record.fields) <= IMPORTED[record]


def test_the_csv_import_requires_what_the_page_requires():
    assert set(d.PATIENT.required) <= set(imports.PATIENT_COLUMNS)
    assert set(d.ASSESSMENT.required) <= set(imports.ASSESSMENT_COLUMNS)
    prefilled = set(imports.PROCEDURE_PREFILLED)
    assert set(d.PROCEDURE.required) - prefilled <= set(imports.PROCEDURE_COLUMNS)


READ_FOR_EXPORT = {
    d.PATIENT: records.PATIENT_FIELDS,
    d.PROCEDURE: records.PROCEDURE_FIELDS,
    d.ASSESSMENT: records.ASSESSMENT_FIELDS,
    d.ADVERSE_EVENT: records.EVENT_FIELDS,
    d.MDT_DECISION: records.MDT_FIELDS,
    d.CONSENT: records.CONSENT_FIELDS,
}


@pytest.mark.parametrize("record", list(READ_FOR_EXPORT), ids=named)
def test_the_export_reads_every_declared_field_but_free_text(record):
    wanted = set(record.value_names(record.exported))
    assert wanted <= set(READ_FOR_EXPORT[record])
    for name in record.free_text - {"description"}:  # an event's text goes to FHIR
        assert record.model_field(name).attname not in READ_FOR_EXPORT[record]


def test_the_export_reads_every_declared_lesion_field_with_its_procedure():
    lesion = {f"lesion__{n}" for n in d.LESION.value_names(d.LESION.exported)}
    assert lesion <= set(records.PROCEDURE_FIELDS)


def test_the_export_reads_every_declared_analgesic_field():
    assert records.Analgesic._fields == d.ANALGESIC.value_names()


@pytest.mark.parametrize("pseudonymised", [False, True])
def test_the_csv_has_a_column_for_every_exported_procedure_and_lesion_field(pseudonymised):
    columns = set(csv_export.columns(pseudonymised))
    for name in csv_export.procedure_columns():
        assert name in columns
    assert {f"lesion_{n}" for n in d.LESION.exported} - {"lesion_lesion_type"} <= columns
    assert not {"notes", "procedure_notes"} & columns  # free text never leaves


def test_the_import_guide_names_every_import_column():
    from pathlib import Path

    guide = (Path(__file__).parents[2] / "docs" / "imports.md").read_text(encoding="utf-8")
    columns = {
        *imports.PATIENT_COLUMNS,
        *imports.PROCEDURE_COLUMNS,
        *imports.PROCEDURE_OPTIONAL,
        *imports.ASSESSMENT_COLUMNS,
        *d.ASSESSMENT.optional,
        *imports.ANALGESIC_COLUMNS,
    }
    missing = sorted(c for c in columns if f"`{c}`" not in guide)
    assert missing == []


def test_what_the_writer_sets_is_returned_and_exported_but_never_asked():
    set_by_writer = {record: record.set_by_writer for record in d.ALL if record.set_by_writer}
    assert "reported_by" in set_by_writer[d.ASSESSMENT]
    for record, names in set_by_writer.items():
        for name in names:
            assert not record.model_field(name).editable, name
            assert name not in FORMS[record]._meta.fields
            assert name not in API_INPUT[record].model_fields
            assert name in API_OUTPUT[record].model_fields
            assert name in READ_FOR_EXPORT[record]
            assert name not in IMPORTED.get(record, ())
