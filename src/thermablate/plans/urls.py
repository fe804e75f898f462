from django.urls import path

from thermablate.plans import views

urlpatterns = [
    path("lesions/<int:lesion_id>/plans/new/", views.plan_new, name="plan_new"),
    path("lesions/<int:lesion_id>/plans/", views.lesion_plans, name="lesion_plans"),
    path(
        "lesions/<int:lesion_id>/plans/comparison.png",
        views.comparison_figure,
        name="plan_comparison_figure",
    ),
    path("plans/<int:plan_id>/", views.plan_detail, name="plan_detail"),
    path("plans/<int:plan_id>/status/", views.plan_status, name="plan_status"),
    path("plans/<int:plan_id>/slices.png", views.plan_figure, name="plan_figure"),
    path("plans/<int:plan_id>/choose/", views.plan_choose, name="plan_choose"),
    path(
        "procedures/<int:procedure_id>/plan/link/",
        views.procedure_plan_link,
        name="procedure_plan_link",
    ),
    path(
        "procedures/<int:procedure_id>/plan/as-delivered/",
        views.procedure_as_delivered,
        name="procedure_as_delivered",
    ),
    path(
        "procedures/<int:procedure_id>/measured-zone/",
        views.observed_zone_record,
        name="observed_zone_record",
    ),
]
