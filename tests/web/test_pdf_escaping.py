"""Free text entered by people reaches the PDF reports as text, never as markup.

WeasyPrint runs no scripts, but markup that reached it unescaped could load local files or
internal URLs into a report (``<img src=file:///...>``) or rewrite what the committee reads.
Site names and operators' names are typed in by administrators and appear in the committee
report and the appraisal report (title, tables and the SVG charts).
"""

import io
import re

import pytest
from django.urls import reverse
from pypdf import PdfReader

from tests.factories import login

PAYLOAD = "<script>alert(1)</script><img src=file:///etc/hostname>"

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("approved_site")]


def pdf_text(response) -> str:
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    return re.sub(r"\s+", "", "".join(page.extract_text() for page in reader.pages))


def squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_a_site_name_with_markup_is_printed_as_text_in_the_committee_report(
    client, analyst, site_a, procedure
):
    site_a.name = f"North General {PAYLOAD}"
    site_a.save()
    login(client, analyst)
    text = pdf_text(client.get(reverse("audit_report"), {"format": "pdf"}))
    assert squeezed(f"North General {PAYLOAD}") in text
    assert "governancecommitteereport" in text  # the report itself rendered around it


def test_an_operator_name_with_markup_is_printed_as_text_in_the_appraisal(
    client, governance, clinician, procedure
):
    clinician.first_name = "Ann"
    clinician.last_name = f"Surgeon {PAYLOAD}"
    clinician.save()
    login(client, governance)
    text = pdf_text(client.get(reverse("audit_appraisal", args=[clinician.pk]), {"format": "pdf"}))
    assert squeezed(f"Annual appraisal: outcomes of Ann Surgeon {PAYLOAD}") in text


def test_the_pdf_renderer_fetches_nothing_but_embedded_data():
    from thermablate.audit.reports import pdf_url_fetcher

    fetcher = pdf_url_fetcher()
    for url in ("file:///etc/hostname", "http://169.254.169.254/latest/meta-data/"):
        with pytest.raises(ValueError, match="disallowed protocol"):
            fetcher.fetch(url)
    assert fetcher.fetch("data:text/plain;base64,b2s=").read() == b"ok"
