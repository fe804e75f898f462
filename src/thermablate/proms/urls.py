from django.urls import path

from thermablate.proms import patient_views, staff_views

urlpatterns = [
    # The patient's pages: short addresses, to type from a letter if need be.
    path("q/done/", patient_views.done, name="proms_done"),
    path("q/<str:token>/", patient_views.start, name="proms_start"),
    path("q/<str:token>/check/", patient_views.check, name="proms_check"),
    path("q/<str:token>/<slug:slug>/", patient_views.page, name="proms_page"),
    # The staff's.
    path(
        "patients/<str:registry_number>/contact/",
        staff_views.contact_details,
        name="proms_contact",
    ),
    path(
        "patients/<str:registry_number>/contact/withdraw/",
        staff_views.withdraw_contact,
        name="proms_contact_withdraw",
    ),
    path("follow-ups/call-list/", staff_views.call_list, name="proms_call_list"),
    path("invitations/<int:invitation_id>/letter/", staff_views.letter, name="proms_letter"),
    path("invitations/<int:invitation_id>/unlock/", staff_views.unlock, name="proms_unlock"),
]
