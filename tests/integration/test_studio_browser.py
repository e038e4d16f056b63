"""The studio in a real headless Chromium against a real `avm serve`: sign in, open a project, move the
time-travel slider and see the diff, verify the audit chain, start a rebuild and watch it finish; no console
error on any page, and a screenshot of each page (under $AVM_SCREENSHOT_DIR, else .data/screenshots).

The browser is Debian's `chromium` with its `chromium-driver` (.ci/run installs them); Selenium talks to that
chromedriver and never downloads a browser. Without them the test is skipped with a loud reason, and under CI it
fails instead unless .ci/run said it could not install them (AVM_STUDIO_NO_BROWSER=1).
"""
from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.http.helpers import ENGLISH_STORY
from tests.live import LiveServer, live_server

CHROMIUM = os.environ.get("AVM_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("AVM_CHROMEDRIVER", "/usr/bin/chromedriver")
ROOT = Path(__file__).resolve().parents[2]
SHOTS = Path(os.environ.get("AVM_SCREENSHOT_DIR") or ROOT / ".data" / "screenshots")
WAIT = 60  # seconds: a generous bound for a loaded machine, never a speed claim


def _browser_missing() -> str | None:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not (Path(p).is_file() and os.access(p, os.X_OK))]
    return None if not missing else f"{' and '.join(missing)} not installed (apt-get install chromium chromium-driver)"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    missing = _browser_missing()
    if missing:
        if os.environ.get("CI") and os.environ.get("AVM_STUDIO_NO_BROWSER") != "1":
            pytest.fail(f"STUDIO BROWSER TESTS CANNOT RUN: {missing}")
        pytest.skip(f"STUDIO BROWSER TESTS SKIPPED: {missing}")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="avm-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1280,1000", f"--user-data-dir={profile}"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(WAIT)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def server(tmp_path_factory: Any) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("studio")) as srv:
        yield srv


class Studio:
    def __init__(self, driver: Any, server: LiveServer) -> None:
        self.driver, self.server = driver, server
        SHOTS.mkdir(parents=True, exist_ok=True)

    def wait(self, condition: Any) -> Any:
        from selenium.webdriver.support.ui import WebDriverWait

        return WebDriverWait(self.driver, WAIT, poll_frequency=0.2).until(condition)

    def find(self, css: str) -> Any:
        from selenium.webdriver.common.by import By

        return self.wait(lambda d: d.find_element(By.CSS_SELECTOR, css))

    def text_in(self, css: str, text: str) -> None:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ec

        self.wait(ec.text_to_be_present_in_element((By.CSS_SELECTOR, css), text))

    def open(self, path: str) -> None:
        self.driver.get(self.server.url + path)

    def shot(self, name: str) -> Path:
        path = SHOTS / f"studio-{name}.png"
        assert self.driver.save_screenshot(str(path)), name
        return path

    def no_console_errors(self, page: str) -> None:
        errors = [e for e in self.driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
        assert errors == [], (page, errors)

    def sign_in(self, token: str) -> None:
        self.open("/studio/signin")
        self.find("#token").send_keys(token)
        self.find("form.stack button[type=submit]").click()
        self.text_in("h1", "Projects")


def _api(server: LiveServer, token: str, method: str, path: str, **kw: Any) -> Any:
    r = httpx.request(method, server.url + path, headers={"Authorization": f"Bearer {token}", **kw.pop("headers", {})},
                      timeout=30, **kw)
    assert r.status_code < 300, r.text
    return r.json() if r.content else None


def test_the_studio_in_a_real_browser(browser, server):
    from selenium.webdriver.common.keys import Keys

    user = server.new_token("user", "studio-user@example.com")
    admin = server.new_token("admin", "studio-admin@example.com")
    worker = server.new_token("worker", "studio-worker@example.com")
    p = _api(server, user, "POST", "/api/v1/projects", json={"title": "The white fox",
                                                             "description": "A winter tale"})
    _api(server, user, "PUT", f"/api/v1/projects/{p['id']}/story", json={"text": ENGLISH_STORY})
    _api(server, user, "POST", f"/api/v1/projects/{p['id']}/jobs", json={})
    claim = _api(server, worker, "POST", "/api/v1/jobs/claim", json={})
    _api(server, user, "PATCH", f"/api/v1/projects/{p['id']}", json={"title": "The white fox of the mountains"})
    latest = _api(server, user, "GET", f"/api/v1/projects/{p['id']}")["version"]
    studio = Studio(browser, server)

    # sign in; the projects page
    studio.sign_in(user)
    studio.shot("projects")
    studio.no_console_errors("projects")

    # open the project
    from selenium.webdriver.common.by import By

    browser.find_element(By.LINK_TEXT, "The white fox of the mountains").click()
    studio.text_in("h1", "The white fox of the mountains")
    assert "Once upon a time" in browser.page_source
    studio.shot("project")
    studio.no_console_errors("project")

    # history: the slider starts at the last version; one step back shows version 2 and its diff (htmx swap)
    browser.find_element(By.LINK_TEXT, "History and time travel").click()
    studio.text_in("#shown-version", f"Showing version {latest}")
    assert "intact" in studio.find("#timeline").text and "broken" not in studio.find("#timeline").text
    studio.shot("history")
    slider = studio.find("#at")
    slider.send_keys(Keys.ARROW_LEFT)
    studio.text_in("#shown-version", f"Showing version {latest - 1}")
    diff = studio.find("#diff").text
    assert f"Changes of version {latest - 1} against version {latest - 2}" in diff
    assert browser.current_url.endswith(f"at={latest - 1}")  # the slider's position is in the address (hx-push-url)
    studio.shot("history-previous-version")
    # the first version: everything is new
    studio.open(f"/studio/history/project/{p['id']}?at=1")
    assert "The white fox" in studio.find("#diff").text and "A winter tale" in studio.find("#diff").text
    studio.no_console_errors("history")

    # jobs (attempts), assets, presets
    studio.open("/studio/jobs")
    studio.text_in("table", "running")
    assert "1 / " in studio.find("table").text  # the claim was its first attempt
    studio.shot("jobs")
    for name in ("assets", "presets"):
        studio.open(f"/studio/{name}")
        studio.text_in("h1", name.capitalize())
        studio.shot(name)
    studio.no_console_errors("jobs, assets, presets")

    # audit: the last signed checkpoint, then run the chain verification
    server.cli("audit", "checkpoint")
    studio.open("/studio/audit")
    assert "holds tenant_seq" in browser.page_source and "with the checkpoint's hash" in browser.page_source
    studio.find("#run-verify").click()
    studio.text_in("#verify-result", "Chain intact")
    studio.shot("audit")
    studio.no_console_errors("audit")

    # sign out; sign in as the admin
    studio.find("header form.signout button").click()
    studio.text_in("h1", "Sign in")
    studio.sign_in(admin)
    studio.open("/studio/tenants")
    studio.text_in("table", "studio-user@example.com")
    studio.shot("tenants")
    studio.open("/studio/queue")
    studio.text_in("#count-running", "1")
    assert "Running leases" in browser.page_source and "No job is running" not in browser.page_source
    studio.shot("queue")
    # the counts are live: a job queued now shows up without a reload (htmx polls the panel)
    queued = int(studio.find("#count-queued").text)
    browser.execute_script("document.body.dataset.loaded = 'once'")  # gone if the page were reloaded
    p2 = _api(server, admin, "POST", "/api/v1/projects", json={"title": "A second tale"})
    _api(server, admin, "PUT", f"/api/v1/projects/{p2['id']}/story", json={"text": ENGLISH_STORY})
    _api(server, admin, "POST", f"/api/v1/projects/{p2['id']}/jobs", json={})
    studio.text_in("#count-queued", str(queued + 1))
    assert browser.execute_script("return document.body.dataset.loaded") == "once"

    # the job fails: its error shows on the tenant's jobs page (an admin look, as text)
    _api(server, worker, "POST", f"/api/v1/jobs/{claim['id']}/fail", json={
        "lease_id": claim["lease"]["id"], "error": {"code": "SERVICE_ERROR", "message": "<b>model down</b>"}})
    tenant = _api(server, user, "GET", "/api/v1/me")["id"]  # a user is a tenant
    studio.open(f"/studio/jobs?tenant_id={tenant}")
    studio.text_in("table", "SERVICE_ERROR <b>model down</b>")
    studio.shot("jobs-failed")
    studio.no_console_errors("admin pages")

    # projections: start a rebuild and watch it finish on the page (htmx polls the progress panel)
    studio.open("/studio/projections")
    studio.shot("projections")
    studio.open("/studio/projections/projects")
    studio.find("#start-rebuild").click()
    studio.text_in("#last-rebuild", "Last rebuild finished")
    studio.shot("rebuild-finished")
    studio.find("#start-verify").click()
    studio.text_in("#verify-outcome", "no difference with the live tables")
    studio.shot("projection-verified")
    studio.no_console_errors("projections")
