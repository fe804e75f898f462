"""OPCS-4 suggestions on the procedure page, and the coder's accepted codes."""

import pytest
from django.urls import reverse

from tests.factories import login
from thermablate.registry.coding import suggestions

pytestmark = pytest.mark.usefixtures("approved_site")


def test_a_spinal_procedure_puts_v55_second(procedure):
    codes = suggestions(procedure)
    assert codes[1].code is not None and codes[1].code.startswith("V55")
    assert codes[0].position == 1


def test_the_procedure_page_shows_suggestions_with_undetermined_codes_marked(
    client, clinician, procedure
):
    login(client, clinician)
    page = client.get(reverse("procedure_detail", args=[procedure.pk])).content.decode()
    table = page.split('id="opcs-suggestions"')[1].split("</table>")[0]
    assert "V55" in table
    assert 'data-determined="no"' in table and "Not determined" in table


def test_a_coder_saves_codes_and_they_are_audited(client, clinician, procedure):
    login(client, clinician)
    response = client.post(
        reverse("procedure_coding", args=[procedure.pk]),
        {"codes": "v44.4\nV55.1, Y53.4", "version": 1},
    )
    assert response.status_code == 302
    procedure.refresh_from_db()
    assert procedure.opcs_codes == ["V44.4", "V55.1", "Y53.4"]
    assert procedure.opcs_coded_by == clinician
    from thermablate.registry.models import AuditEvent

    assert AuditEvent.objects.filter(
        model="procedure", action="update", changes__has_key="opcs_codes"
    ).exists()


@pytest.mark.parametrize("codes", ["V5", "banana", "V55.-"])
def test_malformed_codes_and_categories_are_refused(client, clinician, procedure, codes):
    login(client, clinician)
    response = client.post(
        reverse("procedure_coding", args=[procedure.pk]),
        {"codes": codes, "version": 1},
        follow=True,
    )
    procedure.refresh_from_db()
    assert procedure.opcs_codes == []
    assert (
        "not an OPCS-4 code" in response.content.decode()
        or "not a code" in response.content.decode()
    )


def test_an_analyst_cannot_code(client, analyst, procedure):
    login(client, analyst)
    assert (
        client.post(
            reverse("procedure_coding", args=[procedure.pk]), {"codes": "V55.1", "version": 1}
        ).status_code
        == 403
    )


def test_codes_saved_from_an_old_page_are_refused(client, clinician, coordinator, procedure):
    """Optimistic locking on the coding form too: the second coder's page was stale."""
    url = reverse("procedure_coding", args=[procedure.pk])
    login(client, coordinator)
    assert client.post(url, {"codes": "V44.4", "version": 1}).status_code == 302
    login(client, clinician)
    page = client.post(url, {"codes": "V55.1", "version": 1}, follow=True).content.decode()
    assert "changed by someone else" in page
    procedure.refresh_from_db()
    assert procedure.opcs_codes == ["V44.4"]
    missing = client.post(url, {"codes": "V55.1"}, follow=True).content.decode()
    assert "Enter the codes to save" in missing or "version" in missing
    procedure.refresh_from_db()
    assert procedure.opcs_codes == ["V44.4"]
