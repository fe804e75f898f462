"""Audit and governance pages (mounted at /audit/ by thermablate.web.urls)."""

from django.urls import path

from thermablate.audit import views

urlpatterns = [
    path("", views.dashboard, name="audit_dashboard"),
    path("report/", views.governance_report, name="audit_report"),
    path("appraisal/<int:operator_id>/", views.appraisal_report, name="audit_appraisal"),
    path(
        "adverse-events/<int:event_id>/yellow-card/",
        views.yellow_card_draft,
        name="yellow_card_draft",
    ),
]
