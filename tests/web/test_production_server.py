"""The production server as a hospital runs it (docs/deployment.md), end to end.

`thermablate collectstatic`, `migrate` and `demo` into temporary folders, then `thermablate
serve` (gunicorn) on a free loopback port with production settings, exercised over HTTP:
sign-in with the CSRF token, the patient list, a static file from WhiteNoise, the headers.
"""

import gzip
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

DEMO_USER = "coordinator-ngh"
DEMO_PASSWORD = "thermablate-demo"
# A never-issued NHS number from the demo's range: it must not reach the access log.
SEARCHED_NHS_NUMBER = "9434765919"
NHS_STYLESHEET = re.compile(r'href="(/static/vendor/nhsuk/nhsuk-frontend\.min\.[0-9a-f]{12}\.css)"')
# What a test run may have set that would change the deployment under test.
CLEARED_VARIABLES = {
    "DATABASE_URL",
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
    "GUNICORN_CMD_ARGS",
    "FORWARDED_ALLOW_IPS",
}


def free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def production_environment(folder: Path) -> dict[str, str]:
    inherited = {
        key: value
        for key, value in os.environ.items()
        if key not in CLEARED_VARIABLES and not key.startswith("THERMABLATE_")
    }
    return {
        **inherited,
        "DJANGO_SETTINGS_MODULE": "thermablate.web.settings",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "THERMABLATE_DATA_DIR": str(folder / "data"),  # SQLite, whatever the suite runs on
        "THERMABLATE_STATIC_ROOT": str(folder / "static"),
    }


def thermablate(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "thermablate.cli", *arguments]


class Browser:
    """A cookie-keeping HTTP client that does not follow redirects, so each answer is seen."""

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(CookieJar()), self._NoRedirect()
        )

    def request(self, path: str, data: dict | None = None, headers: dict | None = None):
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(self.base_url + path, data=body, headers=headers or {})
        try:
            with self.opener.open(request, timeout=20) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:  # 3xx (not followed), 4xx, 5xx
            with error:
                return error.code, error.headers, error.read()


@pytest.fixture(scope="module")
def production_server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("production")
    env = production_environment(folder)
    log_path = folder / "server.log"

    def run(*arguments: str) -> None:
        result = subprocess.run(
            thermablate(*arguments), env=env, capture_output=True, text=True, timeout=180
        )
        assert result.returncode == 0, f"{arguments}: {result.stdout}{result.stderr}"

    # The pages loaded here need only the application's own assets: the admin's and the API
    # docs' bundles are left out, as compressing them would take most of the test's time.
    collect = subprocess.Popen(
        thermablate("collectstatic", "--no-input", "--ignore", "admin", "--ignore", "ninja"),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    run("migrate", "--no-input")
    run("demo", "--patients", "2")
    collected, _ = collect.communicate(timeout=180)
    assert collect.returncode == 0, collected

    port = free_loopback_port()
    with log_path.open("w") as log:
        server = subprocess.Popen(
            thermablate("serve", "--bind", f"127.0.0.1:{port}"),
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, log_path.read_text()
            try:
                if Browser(base_url).request("/accounts/login/")[0] == 200:
                    break
            except OSError:
                pass  # not listening yet
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.2)
        yield {"url": base_url, "log": log_path, "static_root": folder / "static"}
    finally:
        server.terminate()  # gunicorn's master: a graceful shutdown
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def signed_in(base_url: str, headers: dict | None = None) -> Browser:
    browser = Browser(base_url)
    status, _, page = browser.request("/accounts/login/")
    assert status == 200
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1).decode()
    status, answer, _ = browser.request(
        "/accounts/login/",
        {"csrfmiddlewaretoken": token, "username": DEMO_USER, "password": DEMO_PASSWORD},
        headers,
    )
    assert status == 302 and answer["Location"] == "/", f"sign-in was refused ({status})"
    return browser


def test_it_signs_in_and_lists_the_patients(production_server):
    browser = signed_in(production_server["url"])
    status, headers, page = browser.request("/patients/")
    assert status == 200
    assert b"Most recently registered patients" in page
    assert re.search(rb"TB-[0-9A-Z]{6}", page), "the demo's patients are listed"
    assert_own_origin_only(headers["Content-Security-Policy"])


def assert_own_origin_only(policy: str) -> None:
    assert "default-src 'self'" in policy and "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "http" not in policy, "nothing is loaded from another host"


def test_it_serves_the_nhs_stylesheet_compressed_and_cached_for_a_year(production_server):
    status, page_headers, page = Browser(production_server["url"]).request("/accounts/login/")
    stylesheet = NHS_STYLESHEET.search(page.decode())
    assert stylesheet, "pages link the content-hashed copy that collectstatic wrote"
    status, headers, body = Browser(production_server["url"]).request(
        stylesheet.group(1), headers={"Accept-Encoding": "gzip"}
    )
    assert status == 200
    assert headers["Content-Type"].startswith("text/css")
    assert headers["Content-Encoding"] == "gzip"
    collected = production_server["static_root"] / stylesheet.group(1).removeprefix("/static/")
    assert gzip.decompress(body) == collected.read_bytes()
    cache_control = headers["Cache-Control"]
    assert "immutable" in cache_control
    assert int(re.search(r"max-age=(\d+)", cache_control).group(1)) >= 365 * 24 * 3600
    # WhiteNoise answers before the view middleware: the policy is added outside it.
    assert headers["Content-Security-Policy"] == page_headers["Content-Security-Policy"]
    assert "Access-Control-Allow-Origin" not in headers


def test_it_runs_without_debug_pages(production_server):
    browser = signed_in(production_server["url"])
    status, _, page = browser.request("/no-such-page/")
    assert status == 404
    assert b"DEBUG = True" not in page and b"URLconf" not in page


def test_the_access_log_leaves_out_query_strings(production_server):
    # A search by NHS number puts it in the URL; the log keeps the path only.
    browser = signed_in(production_server["url"])
    status, _, _ = browser.request(f"/patients/?q={SEARCHED_NHS_NUMBER}")
    assert status == 200
    deadline = time.monotonic() + 5
    while "GET /patients/ " not in production_server["log"].read_text():
        assert time.monotonic() < deadline, "the request never reached the access log"
        time.sleep(0.1)
    assert SEARCHED_NHS_NUMBER not in production_server["log"].read_text()


def test_a_client_cannot_pose_as_https_without_a_trusted_proxy(production_server):
    # No THERMABLATE_TRUSTED_PROXIES here, so gunicorn must not believe X-Forwarded-Proto
    # either (its own default trusts 127.0.0.1). Were the request taken for HTTPS, Django's
    # CSRF check would demand a Referer and refuse this sign-in with 403.
    signed_in(production_server["url"], {"X-Forwarded-Proto": "https"})
