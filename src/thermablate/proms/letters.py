"""The printed letter for patients the e-mails and text messages did not reach: their address,
a fresh link (printed short, to type) and the same link as a QR code, to scan with a phone's
camera. The National Joint Registry found paper follow-up reached 84 % where e-mail alone
reached under half: the letter is the last step, not an afterthought."""

from __future__ import annotations

import base64

import segno
from django.template.loader import render_to_string
from weasyprint import HTML
from weasyprint.urls import URLFetcher

from thermablate.proms import actions, links
from thermablate.proms.models import ContactDetails, Invitation


def qr_data_uri(url: str) -> str:
    """The link as a QR code (an SVG data: URI), with error correction M (15 % of the code
    may be smudged and it still scans)."""
    code = segno.make(url, error="m", micro=False)
    svg = code.svg_inline(scale=4, border=4)
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def letter_pdf(invitation: Invitation, *, acting_user) -> bytes:
    token = links.new_link(invitation)
    url = links.public_url(token)
    assessment = invitation.assessment
    contact = ContactDetails.objects.filter(patient=assessment.patient).first()
    html = render_to_string(
        "proms/letter.html",
        {
            "address_lines": (contact.postal_address.splitlines() if contact else []),
            "link": url,
            "qr": qr_data_uri(url),
            "service": assessment.patient.site.name,
            "timepoint": assessment.get_timepoint_display().lower(),
            "closes": assessment.window_closes,
        },
    )
    # Only the embedded QR code may be fetched: nothing from disk or the network.
    pdf = HTML(string=html, url_fetcher=URLFetcher(allowed_protocols={"data"})).write_pdf()
    actions.record_letter(invitation, acting_user=acting_user)
    return pdf
