from django.urls import path

from thermablate.guidance import views

urlpatterns = [
    path("guidance/", views.catalogue, name="guidance_catalogue"),
    path("guidance/<str:key>/", views.guidance_detail, name="guidance_detail"),
]
