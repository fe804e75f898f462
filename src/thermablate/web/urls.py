from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from thermablate.plans.api import router as plans_router
from thermablate.registry import correction_views as corrections
from thermablate.registry import data_quality_views, governance_views
from thermablate.registry import views as registry
from thermablate.registry.api import api
from thermablate.web import two_factor
from thermablate.web.login import SignInForm

# The plans' operations join the registry's API (one schema, one authentication).
api.add_router("/", plans_router)

urlpatterns = [
    path("", registry.home, name="home"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(authentication_form=SignInForm),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/two-factor/setup/", two_factor.two_factor_setup, name="two_factor_setup"),
    path("accounts/two-factor/", two_factor.two_factor_verify, name="two_factor_verify"),
    path("patients/", registry.patient_list, name="patient_list"),
    path("patients/new/", registry.patient_create, name="patient_create"),
    path("patients/<str:registry_number>/", registry.patient_detail, name="patient_detail"),
    path("patients/<str:registry_number>/edit/", registry.patient_edit, name="patient_edit"),
    path(
        "patients/<str:registry_number>/lesions/new/", registry.lesion_create, name="lesion_create"
    ),
    path("patients/<str:registry_number>/mdt/new/", registry.mdt_create, name="mdt_create"),
    path(
        "patients/<str:registry_number>/consent/new/",
        registry.consent_create,
        name="consent_create",
    ),
    path(
        "patients/<str:registry_number>/procedures/new/",
        registry.procedure_create,
        name="procedure_create",
    ),
    path(
        "patients/<str:registry_number>/adverse-events/new/",
        registry.adverse_event_create,
        name="adverse_event_create",
    ),
    path("procedures/<int:procedure_id>/", registry.procedure_detail, name="procedure_detail"),
    path(
        "procedures/<int:procedure_id>/coding/", registry.procedure_coding, name="procedure_coding"
    ),
    path("assessments/<int:assessment_id>/", registry.assessment_record, name="assessment_record"),
    path("follow-ups/", registry.follow_ups, name="follow_ups"),
    # Putting records right (registry/correction_views.py).
    path(
        "patients/<str:registry_number>/status/",
        corrections.patient_status,
        name="patient_status",
    ),
    path("procedures/<int:pk>/correct/", corrections.correct_procedure, name="procedure_correct"),
    path(
        "assessments/<int:pk>/not-done/",
        corrections.assessment_not_done,
        name="assessment_not_done",
    ),
    path("records/<str:kind_name>/<int:pk>/correct/", corrections.correct, name="record_correct"),
    path(
        "records/<str:kind_name>/<int:pk>/entered-in-error/",
        corrections.mark_in_error,
        name="record_mark_in_error",
    ),
    path(
        "records/<str:kind_name>/<int:pk>/entered-in-error/undo/",
        corrections.undo_in_error,
        name="record_undo_in_error",
    ),
    path("audit-trail/", registry.audit_trail, name="audit_trail"),
    path("governance/", governance_views.governance, name="governance"),
    path("governance/approvals/new/", governance_views.approval_create, name="approval_create"),
    path(
        "governance/approvals/<int:approval_id>/",
        governance_views.approval_detail,
        name="approval_detail",
    ),
    path(
        "governance/approvals/<int:approval_id>/withdraw/",
        governance_views.approval_withdraw,
        name="approval_withdraw",
    ),
    path(
        "governance/approvals/<int:approval_id>/credentials/<int:credential_id>/withdraw/",
        governance_views.credential_withdraw,
        name="credential_withdraw",
    ),
    path(
        "governance/approvals/<int:approval_id>/correct/",
        governance_views.approval_correct,
        name="approval_correct",
    ),
    path(
        "governance/approvals/<int:approval_id>/credentials/<int:credential_id>/correct/",
        governance_views.credential_correct,
        name="credential_correct",
    ),
    path(
        "governance/approvals/<int:approval_id>/supersede/",
        governance_views.approval_supersede,
        name="approval_supersede",
    ),
    path("data-quality/", data_quality_views.data_quality, name="data_quality"),
    path(
        "data-quality/acknowledge/<slug:rule_code>/<int:object_id>/",
        data_quality_views.acknowledge,
        name="data_quality_acknowledge",
    ),
    path("", include("thermablate.guidance.urls")),
    path("", include("thermablate.plans.urls")),
    path("", include("thermablate.proms.urls")),
    path("audit/", include("thermablate.audit.urls")),
    path("api/", api.urls),
    path("admin/", admin.site.urls),
]
