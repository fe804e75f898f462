"""Exports never fail on data the registry accepts: the demo cohort of many seeds (the
machinery of ``thermablate demo``: children with osteoid osteoma, missing MDT decisions and
consents, adverse events, every procedure type), exported in every format, identifiable and
pseudonymised. Each file must be complete and well formed, not only written without error.

A property over seeds (issue 11): Hypothesis draws new seeds on every run besides the seeds
that once failed, and keeps any seed that fails in its example database."""

import csv
import json

from django.db import transaction
from fhir.resources.R4B import get_fhir_model_class
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from thermablate.audit.exports.run import WRITERS, export
from thermablate.registry.demo import DemoBuilder, create_demo_approvals, create_demo_users
from thermablate.registry.models import Procedure

PATIENTS_PER_SITE = 8  # two demo sites: 16 patients a seed, about 2 s each
NEW_SEEDS_PER_RUN = 6


@settings(
    max_examples=NEW_SEEDS_PER_RUN,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(seed=st.integers(min_value=0, max_value=2**31 - 1))
# Seeds 2 and 2026 draw children under 16 with EQ-5D-5L answers (no index under the DSU
# mapping), which made the FHIR export fail before it stated the missing index.
@example(seed=1)
@example(seed=2)
@example(seed=3)
@example(seed=2026)
def test_every_export_of_a_demo_cohort_is_complete_and_well_formed(db, tmp_path, seed):
    # Each seed's cohort is built and rolled back inside one transaction: the next seed starts
    # from the empty database (the exports read on this connection inside it).
    with transaction.atomic():
        create_demo_users()
        create_demo_approvals()
        DemoBuilder(seed).build(PATIENTS_PER_SITE)
        procedures = Procedure.objects.count()
        _check_every_export(procedures, tmp_path, seed)
        transaction.set_rollback(True)


def _check_every_export(procedures, tmp_path, seed):
    assert procedures >= 2 * PATIENTS_PER_SITE
    for export_format in WRITERS:
        for pseudonymised in (True, False):
            out = tmp_path / f"{seed}-{pseudonymised}.{export_format}"
            written = export(export_format=export_format, out=out, pseudonymised=pseudonymised)
            assert written.procedures == procedures
            if export_format == "csv":
                with out.open(newline="", encoding="utf-8") as handle:
                    assert len(list(csv.DictReader(handle))) == procedures
            else:
                entries = json.loads(out.read_text(encoding="utf-8"))["entry"]
                kinds = [entry["resource"]["resourceType"] for entry in entries]
                assert kinds.count("Procedure") == procedures
                for entry in entries:
                    resource = entry["resource"]
                    get_fhir_model_class(resource["resourceType"]).model_validate(resource)
