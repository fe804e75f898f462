"""Personas per role and per site, as the healthchecks test base does, for every Django test."""

from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.factories import VALID_NHS_NUMBERS, make_user, procedure_fields
from thermablate.registry import actions
from thermablate.registry.models import Site
from thermablate.registry.roles import sync_role_groups


@pytest.fixture
def site_a(db):
    sync_role_groups()
    return Site.objects.create(code="site-a", name="Site A Hospital")


@pytest.fixture
def site_b(db):
    sync_role_groups()
    return Site.objects.create(code="site-b", name="Site B Hospital")


@pytest.fixture
def clinician(site_a):
    return make_user(site_a, "clinician", "alice")


@pytest.fixture
def coordinator(site_a):
    return make_user(site_a, "coordinator", "cora")


@pytest.fixture
def governance(site_a):
    return make_user(site_a, "governance", "gill")


@pytest.fixture
def analyst(site_a):
    return make_user(site_a, "analyst", "andy")


@pytest.fixture
def administrator(site_a):
    return make_user(site_a, "administrator", "adam")


@pytest.fixture
def outsider(site_b):
    """A clinician of another site: sees nothing of site A."""
    return make_user(site_b, "clinician", "olga")


@pytest.fixture
def patient(clinician, site_a):
    return actions.create_patient(
        site=site_a,
        acting_user=clinician,
        nhs_number=VALID_NHS_NUMBERS[0],
        year_of_birth=1958,
        sex="female",
    )


@pytest.fixture
def lesion(patient, clinician):
    return actions.add_lesion(
        patient,
        acting_user=clinician,
        spinal_levels="L2",
        diagnosis="spinal_metastasis",
        primary_tumour="breast",
        lesion_type="lytic",
        size_mm=Decimal("25"),
        posterior_wall_intact=True,
        distance_to_neural_mm=Decimal("6"),
        pain_at_site=8,
    )


@pytest.fixture
def decided(patient, lesion, clinician):
    """The MDT's decision to proceed with the lesion, long before any procedure: the pathway
    rule a procedure recorded through the pages, the API or the import must meet."""
    return actions.record_mdt_decision(
        patient,
        acting_user=clinician,
        meeting_date=date(2024, 1, 1),
        lesion=lesion,
        member_roles=["interventional_radiologist", "clinical_oncologist"],
        decision="proceed",
    )


@pytest.fixture
def procedure(patient, lesion, clinician):
    return actions.record_procedure(
        patient,
        acting_user=clinician,
        operators=[clinician],
        cycles=[
            {"target_temp_c": Decimal("70"), "time_at_target_s": 300, "power_w": Decimal("10")}
        ],
        **procedure_fields(lesion),
    )


@pytest.fixture
def today() -> date:
    return timezone.localdate()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # PBKDF2's deliberate slowness protects real passwords; tests need none of it.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def approved_site(site_a, clinician, governance):
    """Site A approves every procedure under HTG670-style standard arrangements, with the
    clinician credentialed: the state most procedure tests need."""
    from thermablate.guidance.governance import guidance_key_for
    from thermablate.guidance.models import Guidance
    from thermablate.registry import actions
    from thermablate.registry.choices import ProcedureType

    approvals = []
    for procedure_type in ProcedureType.values:
        approvals.append(
            actions.record_approval(
                site=site_a,
                acting_user=governance,
                procedure_type=procedure_type,
                guidance=Guidance.objects.get(key=guidance_key_for(procedure_type)),
                decision="approved_standard",
                committee="New Interventional Procedures Committee",
                decision_date=date(2025, 1, 15),
                clinical_lead=clinician,
                review_date=date(2027, 1, 15),
                operators=[
                    {
                        "user": clinician,
                        "training": "Vertebroplasty and kyphoplasty",
                        "credentialed_on": date(2025, 1, 15),
                    }
                ],
            )
        )
    return approvals


# Static files under their own names, from the apps' folders: production serves content-hashed
# copies listed in a manifest by `thermablate collectstatic` (settings.STORAGES), which the tests
# do not run, as Django's documentation of ManifestStaticFilesStorage advises; without this
# every page would fail to render its stylesheet link. tests/web/test_production_server.py
# covers the real thing.
@pytest.fixture(autouse=True, scope="session")
def plain_static_file_names(django_test_environment):
    from django.conf import settings
    from django.test.utils import override_settings

    plain = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    with override_settings(STORAGES={**settings.STORAGES, "staticfiles": plain}):
        yield


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, tmp_path_factory):
    """On SQLite the test database is a file, not shared-cache memory: the background worker
    and the live server then write to it concurrently as a deployment does, each waiting for
    the other's lock (shared-cache memory databases refuse at once with "table is locked",
    which no busy timeout retries)."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        folder = tmp_path_factory.mktemp("database")
        database.setdefault("TEST", {})["NAME"] = str(folder / "test.sqlite3")
