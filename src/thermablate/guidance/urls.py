from django.urls import path

from thermablate.guidance import views

urlpatterns = [
    path("guidance/", views.catalogue, name="guidance_catalogue"),
    path("guidance/<str:key>/", views.guidance_detail, name="guidance_detail"),
    path("governance/", views.governance, name="governance"),
    path("governance/approvals/new/", views.approval_create, name="approval_create"),
    path("governance/approvals/<int:approval_id>/", views.approval_detail, name="approval_detail"),
]
