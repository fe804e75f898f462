from django.core.management import call_command
from django.utils.timezone import localdate as today

from thermablate.registry.models import (
    AdverseEvent,
    Assessment,
    Lesion,
    MdtDecisionRecord,
    Patient,
    Procedure,
)


def cohort_fingerprint():
    return sorted(
        Procedure.objects.values_list(
            "patient__nhs_number", "procedure_type", "procedure_date", "duration_min"
        )
    )


def test_the_demo_is_reproducible_and_realistic(db, capsys):
    call_command("demo", patients=25, seed=7)
    output = capsys.readouterr().out
    assert "coordinator-ngh" in output and "password: " in output
    first = cohort_fingerprint()
    assert Patient.objects.count() == 50 and len(first) == 50
    assert len({p[1] for p in first}) >= 3  # several procedure types
    assert Assessment.objects.filter(assessed_on__isnull=False).exists()
    overdue = [
        a for a in Assessment.objects.filter(assessed_on__isnull=True) if a.status() == "overdue"
    ]
    assert overdue, "some follow-ups are left overdue"
    assert AdverseEvent.objects.exists() or Procedure.objects.count() < 20

    call_command("demo", patients=25, seed=7)  # a second run leaves the cohort alone
    assert Patient.objects.count() == 50

    for model in (
        MdtDecisionRecord,
        Procedure,
        Lesion,
        Patient,
    ):  # children before what they protect
        model.objects.all().delete()
    call_command("demo", patients=25, seed=7)
    assert cohort_fingerprint() == first


def test_the_demo_answers_the_odi_after_spinal_procedures_and_the_bpi_where_the_site_asks(db):
    from thermablate.audit import aggregates, queries
    from thermablate.registry.choices import SPINAL_PROCEDURES
    from thermablate.registry.models import Site

    call_command("demo", patients=25, seed=7)
    done = Assessment.objects.filter(assessed_on__isnull=False)
    with_odi = done.filter(odi_pain_intensity__isnull=False)
    assert (
        with_odi.exists()
        and not with_odi.exclude(procedure__procedure_type__in=SPINAL_PROCEDURES).exists()
    )
    with_bpi = done.filter(bpi_general_activity__isnull=False)
    assert set(with_bpi.values_list("patient__site__code", flat=True)) == {"ngh"}
    assert done.filter(eq5d_vas__isnull=False).count() == done.count()
    northgate = aggregates.figures(queries.CohortFilter(site=Site.objects.get(code="ngh")), today())
    for measure in ("odi", "bpi_severity", "bpi_interference", "eq5d_vas"):
        assert any(row.pairs for row in northgate.outcomes[measure]), measure
