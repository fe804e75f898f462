"""Schemathesis generates requests from the OpenAPI schema for every operation: the API must
never answer 500, must answer with what its schema promises, and a refused request must change
nothing."""

import hashlib

import pytest
import schemathesis
from django.apps import apps
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import ignored_auth, positive_data_acceptance

from thermablate.registry.models import ApiToken
from thermablate.web.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/openapi.json", application)
TOKEN = "tb_schemathesis_token_0123456789"


@pytest.fixture(autouse=True)
def _keep_the_test_transactions_connection():
    """Schemathesis calls the WSGI application directly, whose request signals would close the
    database connection holding the test's transaction (PostgreSQL; SQLite's in-memory test
    database ignores the close). Django's test client disconnects them the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def bearer(clinician, procedure, approved_site):
    ApiToken.objects.get_or_create(
        user=clinician,
        name="fuzzer",
        key_hash=hashlib.sha256(TOKEN.encode()).hexdigest(),
        # The fuzzer must reach the write operations, not stop at a read-only token's 403.
        defaults={"scope": ApiToken.Scope.READ_WRITE},
    )
    return {"Authorization": f"Bearer {TOKEN}"}


def counts():
    return {
        m.__name__: m.objects.count()
        for m in apps.get_app_config("registry").get_models()
        if m.__name__ not in {"AuditEvent", "AuditChainHead", "ApiToken"}
    }


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@pytest.mark.slow
def test_every_operation_holds_up(case, bearer, db):
    before = counts()
    response = case.call(headers=bearer)
    assert response.status_code < 500, response.text
    # Two checks do not fit this API. ignored_auth: the API accepts a bearer token OR a session,
    # and the check breaks one scheme while the other still authenticates (anonymous and
    # wrong-token refusals are tested in test_permissions and test_api). positive_data_acceptance:
    # many refusals come from rules no schema can state (an NHS number's check digit, contiguous
    # spinal levels, a duplicate at the site, dates relative to the procedure).
    case.validate_response(response, excluded_checks=[ignored_auth, positive_data_acceptance])
    if response.status_code >= 400:
        assert counts() == before
