"""Nothing is loaded from another host (DESIGN.md): on a network without internet no page may
wait for a font, stylesheet, script or image from elsewhere, and no third party learns who
reads which page. Every page type of the permission matrix is rendered and read: the resources
it names, the stylesheets those name in turn, and the Content-Security-Policy it is sent with."""

import re
from html.parser import HTMLParser

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.urls import reverse

from tests.factories import login
from tests.web.test_permission_matrix import MATRIX, PERSONAS, args_for
from thermablate.registry import actions

# A URL that leaves our origin: a scheme, or a protocol-relative "//host".
OTHER_HOST = re.compile(r"^\s*(?:[a-z][a-z0-9+.-]*:|//)", re.IGNORECASE)
CSS_URL = re.compile(r"""url\(\s*['"]?([^'")]+)|@import\s+['"]([^'"]+)""", re.IGNORECASE)


class _Resources(HTMLParser):
    """The URLs a page makes the browser fetch by itself: scripts, images, stylesheets, icons."""

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []
        self.stylesheets: list[str] = []
        self.inline_css: list[str] = []  # <style> of the self-contained reports
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "img", "iframe", "source", "audio", "video", "embed") and attrs.get(
            "src"
        ):
            self.urls.append(attrs["src"])
        if tag == "img" and attrs.get("srcset"):
            self.urls.extend(part.split()[0] for part in attrs["srcset"].split(","))
        if tag == "link" and attrs.get("href"):
            self.urls.append(attrs["href"])
            if "stylesheet" in (attrs.get("rel") or "").split():
                self.stylesheets.append(attrs["href"])
        if tag == "object" and attrs.get("data"):
            self.urls.append(attrs["data"])
        self._in_style = tag == "style"
        if attrs.get("style"):
            self.inline_css.append(attrs["style"])

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.inline_css.append(data)


def _allowed_data_url(url: str) -> bool:
    return url.startswith("data:")  # inline, no fetch (img-src 'self' data:)


def _page_as_first_allowed_persona(client, request, name, procedure, approval, event):
    url = reverse(name, args=args_for(name, procedure, approval, event))
    for persona, status in zip(PERSONAS, MATRIX[name], strict=True):
        if status == 200:
            client.logout()
            if persona != "anonymous":
                login(client, request.getfixturevalue(persona))
            response = client.get(url)
            assert response.status_code == 200
            return response
    pytest.skip(f"{name} is never shown on a GET")


def _static_file(url: str) -> str:
    assert url.startswith(settings.STATIC_URL if settings.STATIC_URL.startswith("/") else "/"), url
    relative = url.split("?")[0].split("/static/", 1)[1]
    path = finders.find(relative)
    assert path, f"{url} is not one of our static files"
    with open(path, encoding="utf-8") as handle:
        return handle.read()


@pytest.fixture
def adverse_event(procedure):
    return actions.record_adverse_event(
        procedure.patient,
        acting_user=procedure.operators.first(),
        procedure=procedure,
        event_type="haematoma",
        onset_date=procedure.procedure_date,
        severity=1,
        device_related="no",
        outcome="resolved",
        description="Small haematoma at the entry site",
    )


@pytest.mark.parametrize("name", sorted(n for n, row in MATRIX.items() if 200 in row))
def test_no_page_loads_anything_from_another_host(
    client, request, procedure, approved_site, adverse_event, name
):
    response = _page_as_first_allowed_persona(
        client, request, name, procedure, approved_site[0], adverse_event
    )
    content_type = response["Content-Type"].split(";")[0]
    if content_type != "text/html":
        # Data a page fetches (a plan's figure, its progress): it names no resource.
        assert content_type in ("image/png", "application/json"), f"{name}: {content_type}"
        return
    resources = _Resources()
    resources.feed(response.content.decode())
    assert resources.stylesheets or resources.inline_css, f"{name}: no styles: page not read"
    elsewhere = [u for u in resources.urls if OTHER_HOST.match(u) and not _allowed_data_url(u)]
    assert not elsewhere, f"{name} loads from another host: {elsewhere}"
    sheets = {sheet: _static_file(sheet) for sheet in resources.stylesheets}
    sheets["inline styles"] = "\n".join(resources.inline_css)
    for sheet, css in sheets.items():
        for match in CSS_URL.finditer(css):
            target = match.group(1) or match.group(2)
            assert not OTHER_HOST.match(target) or _allowed_data_url(target), (
                f"{sheet} ({name}) loads {target} from another host"
            )


FETCH_DIRECTIVES = ("default-src", "script-src", "style-src", "img-src", "font-src", "connect-src")


def test_the_content_security_policy_allows_only_our_own_origin(client, clinician):
    login(client, clinician)
    policy = client.get(reverse("home"))["Content-Security-Policy"]
    directives = {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}
    assert directives["default-src"] == ["'self'"]
    for name in FETCH_DIRECTIVES:
        sources = directives.get(name, directives["default-src"])
        others = [s for s in sources if s not in ("'self'", "'none'", "data:")]
        assert not others, f"{name} allows {others}"
    assert "*" not in policy and "http" not in policy
