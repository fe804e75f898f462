"""The database path of the report (``audit.aggregates``) gives exactly the figures of the
reference path (``tests/audit/reference``: ``analyse(load_tables(...))``), whose every figure
is checked by hand in ``test_audit_analysis.py``: on the recorded cohort, and on a synthetic cohort with every
awkward case (unconvertible analgesics, "no analgesics" ticked, missed follow-ups, blank lot
numbers and leaflet titles, steps after the procedure, several operators and event types)."""

import dataclasses
import math
from datetime import timedelta

import numpy as np
import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from tests.audit.conftest import load_benchmark_cohort
from tests.audit.reference import analyse, load_tables
from thermablate.audit import aggregates, queries
from thermablate.registry import models as m


def assert_same(expected, actual, path="figures"):
    """Field by field; floats to 1e-9 (the database sums in another order)."""
    if dataclasses.is_dataclass(expected):
        assert type(expected) is type(actual), path
        for field in dataclasses.fields(expected):
            assert_same(
                getattr(expected, field.name), getattr(actual, field.name), f"{path}.{field.name}"
            )
    elif isinstance(expected, dict):
        assert expected.keys() == actual.keys(), path
        for key in expected:
            assert_same(expected[key], actual[key], f"{path}[{key!r}]")
    elif isinstance(expected, list | tuple):
        assert len(expected) == len(actual), path
        for number, (left, right) in enumerate(zip(expected, actual, strict=True)):
            assert_same(left, right, f"{path}[{number}]")
    elif isinstance(expected, np.ndarray):
        np.testing.assert_allclose(actual, expected, rtol=1e-9, atol=1e-12, err_msg=path)
    elif isinstance(expected, float):
        assert math.isclose(expected, actual, rel_tol=1e-9, abs_tol=1e-12), (
            path,
            expected,
            actual,
        )
    else:
        assert expected == actual, (path, expected, actual)


def both_paths(cohort: queries.CohortFilter):
    as_of = timezone.localdate()
    pure = analyse(load_tables(cohort), as_of, queries.EVENT_TYPES)
    return pure, aggregates.figures(cohort, as_of)


def test_it_gives_the_figures_of_the_reference_path_for_the_recorded_cohort(recorded_cohort):
    site = recorded_cohort["patient"].site
    pure, counted = both_paths(queries.CohortFilter(site=site))
    assert counted.size.procedures == 1
    assert counted.unconvertible_analgesics == 1  # the kratom at baseline
    assert_same(pure, counted)


@pytest.fixture
def synthetic_site(db):
    """250 procedures from the benchmark's generator, then the cases it does not make."""
    load_benchmark_cohort(250, seed=11)
    assessments = m.Assessment.objects.filter(assessed_on__isnull=False)
    # "No analgesics" ticked and nothing listed: OME 0, not unknown.
    ticked = list(assessments.filter(procedure__id__lte=20).values_list("id", flat=True))
    m.AnalgesicEntry.objects.filter(assessment_id__in=ticked).delete()
    m.Assessment.objects.filter(id__in=ticked).update(no_analgesics=True)
    # Nothing listed and not ticked: OME unknown.
    m.AnalgesicEntry.objects.filter(assessment__procedure__id__range=(21, 30)).delete()
    # An opioid without doses per day (not convertible) and a patch (no frequency needed).
    m.AnalgesicEntry.objects.filter(
        assessment__procedure__id__range=(31, 40), drug="morphine"
    ).update(doses_per_day=None)
    m.AnalgesicEntry.objects.filter(
        assessment__procedure__id__range=(41, 50), drug="morphine"
    ).update(drug="fentanyl", route="transdermal", unit="microgram/h", dose=12, doses_per_day=None)
    # Part of the EQ-5D-5L left unanswered.
    assessments.filter(procedure__id__range=(51, 60)).update(eq5d_mobility=None)
    m.Procedure.objects.filter(id__range=(61, 70)).update(device_lot="  ")
    m.Consent.objects.filter(patient__id__range=(71, 80)).update(leaflet_title="   ")
    for procedure in m.Procedure.objects.filter(id__range=(81, 90)):
        m.MdtDecisionRecord.objects.filter(patient_id=procedure.patient_id).update(
            meeting_date=procedure.procedure_date + timedelta(days=1)
        )
    return m.Site.objects.get(code="bench")


def test_it_gives_the_figures_of_the_reference_path_for_a_synthetic_cohort(synthetic_site):
    pure, counted = both_paths(queries.CohortFilter(site=synthetic_site))
    assert counted.size.procedures == 250
    assert counted.unconvertible_analgesics > 0
    assert {row.field: row.proportion.count for row in counted.fields}["device_lot"] < 250
    assert_same(pure, counted)


@pytest.mark.parametrize(
    "restriction",
    [
        {"procedure_type": "rfa_kyphoplasty"},
        {"guidance": "HTG670"},
        {"date_from": 200, "date_to": 30},
        {"operator": "operator3"},
    ],
)
def test_it_gives_the_figures_of_the_reference_path_for_a_restricted_cohort(
    synthetic_site, restriction
):
    today = timezone.localdate()
    fields = dict(restriction)
    if "date_from" in fields:
        fields["date_from"] = today - timedelta(days=fields["date_from"])
        fields["date_to"] = today - timedelta(days=fields["date_to"])
    if "operator" in fields:
        fields["operator_id"] = User.objects.get(username=fields.pop("operator")).pk
    pure, counted = both_paths(queries.CohortFilter(site=synthetic_site, **fields))
    assert 0 < counted.size.procedures < 250
    assert_same(pure, counted)


def test_it_gives_empty_figures_for_a_site_without_procedures(site_b):
    pure, counted = both_paths(queries.CohortFilter(site=site_b))
    assert counted.size.procedures == 0 and counted.size.first_procedure is None
    assert_same(pure, counted)
