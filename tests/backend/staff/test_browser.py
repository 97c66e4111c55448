"""The staff consoles in a real headless Chromium (Debian's chromium and chromedriver),
driven by Selenium: a reviewer approves a borderline case produced through the kiosk API; a
technician watches a kiosk go stale then offline; five failed sign-ins lock an account.

Screenshots of each step are written to $KIOSK_STAFF_SCREENSHOTS (default
/tmp/staff-console-screens) for a human to look at.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import select

from backend import models as m
from kiosk.api import contract as c
from tests.backend.staff.conftest import (
    PASSWORD,
    add_staff,
    audit_actions,
    code_for,
    heartbeat,
)

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SHOTS = Path(os.environ.get("KIOSK_STAFF_SCREENSHOTS", "/tmp/staff-console-screens"))

pytestmark = pytest.mark.skipif(
    not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
    reason="needs Debian's chromium and chromedriver (/usr/bin/chromium, /usr/bin/chromedriver; "
    "apt-get install chromium chromium-driver, as the README's set-up does)",
)


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,1100",
        "--lang=en-GB",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    SHOTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


@pytest.fixture
def page(browser):
    browser.delete_all_cookies()
    return browser


def _by(what):
    from selenium.webdriver.common.by import By

    return getattr(By, what)


def find(driver, css: str):
    return driver.find_element(_by("CSS_SELECTOR"), css)


def shot(driver, name: str) -> None:
    """The whole page, not only the window."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, max(1100, min(height + 140, 6000)))
    driver.save_screenshot(str(SHOTS / f"{name}.png"))
    driver.set_window_size(1280, 1100)


def click_and_wait(driver, css: str) -> None:
    """Clicks what submits a form or follows a link, and waits for the next page."""
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    old = find(driver, "html")
    find(driver, css).click()
    WebDriverWait(driver, 15).until(ec.staleness_of(old))


def sign_in(driver, base: str, username: str, password: str, code: str) -> None:
    driver.get(base + "/staff/login")
    find(driver, "#username").send_keys(username)
    find(driver, "#password").send_keys(password)
    find(driver, "#code").send_keys(code)
    click_and_wait(driver, "#sign-in")


def _borderline_through_the_kiosk(client, personas) -> str:
    """The resident's side, as the kiosk's flow runs it (headless, simulated devices, the
    real back end over HTTP): a borderline face ends on "sent for staff review" and its
    receipt prints."""
    from kiosk.devices.sim_resident import BORDERLINE, ResidentScript
    from kiosk.flow import events as ev
    from tests.conftest import persona
    from tests.flow.test_journeys import Kiosk

    p = persona(personas, certification="due", face=True)
    k = Kiosk(client, ResidentScript(p["key"], face=[BORDERLINE]))
    try:
        k.identify(p)
        k.wait("staff_review")
        reference = k.flow.ctx.decision.reference
        k.do(ev.Tapped("print"), until="receipt")
        assert k.printer.documents[-1]["outcome"] == "manual_review"
    finally:
        k.close()
    return reference


def test_reviewer_approves_a_borderline_case(page, backend, clock, client, personas):
    app, server = backend
    reference = _borderline_through_the_kiosk(client, personas)
    rita = add_staff(app, clock, "rita", "reviewer")
    page.get(server.url + "/staff/login")
    shot(page, "01-login")
    sign_in(page, server.url, rita.username, PASSWORD, code_for(rita, clock))
    assert page.current_url.endswith("/staff/review")
    find(page, f'#queue tr[data-reference="{reference}"]')
    shot(page, "02-review-queue")
    click_and_wait(page, f'#queue tr[data-reference="{reference}"] a.case-link')
    assert find(page, "#reference").text == reference
    assert find(page, "#status").text == "pending_review"
    assert "Simulated reference" in find(page, "#reference-placeholder").text
    assert page.find_elements(_by("CSS_SELECTOR"), "svg.liveness rect.bar.pass")
    shot(page, "03-case")
    find(page, "#decision-approved").click()
    from selenium.webdriver.support.ui import Select

    Select(find(page, "#reason")).select_by_value("same_person")
    find(page, "#note").send_keys("Same face as the reference; both challenges passed.")
    click_and_wait(page, "#decide")
    assert "Decision recorded" in find(page, "#message").text
    assert page.find_elements(_by("CSS_SELECTOR"), "#queue-empty")
    assert find(page, f'#decided tr[data-reference="{reference}"]').text.find("approved") >= 0
    shot(page, "04-decided")

    assert client.receipt(reference).status is c.ReceiptStatus.APPROVED
    with app.state.sessions() as db:
        note = db.scalar(select(m.Notification).where(m.Notification.reference == reference))
        assert note is not None and note.kind == "review_approved" and note.status == "sent"
    entries = audit_actions(app, "staff:rita")
    assert ("staff:rita", "case_viewed", f"receipt:{reference}") in entries
    assert ("staff:rita", "case_decided", f"receipt:{reference}") in entries


def test_technician_sees_a_kiosk_go_stale_then_offline(
    page, backend, clock, client, kiosk_identity
):
    app, server = backend
    s = app.state.settings
    tom = add_staff(app, clock, "tom", "technician")
    heartbeat(client)
    heartbeat(client, printer="printer_paper_near_end", outbox=1)
    sign_in(page, server.url, tom.username, PASSWORD, code_for(tom, clock))
    assert page.current_url.endswith("/staff/fleet")
    row = f"#kiosk-{kiosk_identity.kiosk_id}"

    def state() -> str:
        return find(page, f"{row} .state").text

    assert state() == "online"
    assert "Paper low" in find(page, f"{row} .alerts").text
    shot(page, "05-fleet-online")
    clock.advance(s.fleet_stale_after_s + 1)  # the kiosk stops reporting
    page.refresh()
    assert state() == "stale"
    shot(page, "06-fleet-stale")
    clock.advance(s.fleet_offline_after_s - s.fleet_stale_after_s)
    page.refresh()
    assert state() == "offline"
    shot(page, "07-fleet-offline")
    click_and_wait(page, f"{row} a")
    assert find(page, "#kiosk-id").text == kiosk_identity.kiosk_id
    assert find(page, "#state").text == "offline"
    beats = page.find_elements(_by("CSS_SELECTOR"), "#heartbeats tbody tr")
    assert len(beats) == 2
    assert "Paper low" in find(page, "#alerts").text
    assert "Paper low" in beats[0].text
    shot(page, "08-kiosk-detail")
    # A reviewer's page is not for a technician.
    page.get(server.url + "/staff/review")
    assert "does not give access" in find(page, "#message").text


def test_five_failed_sign_ins_lock_the_account(page, backend, clock):
    app, server = backend
    rita = add_staff(app, clock, "rita", "reviewer")
    for i in range(4):
        sign_in(page, server.url, rita.username, PASSWORD, "000000" if i % 2 else "111111")
        assert "Sign-in failed" in find(page, "#message").text
    sign_in(page, server.url, rita.username, "not the password", code_for(rita, clock))
    assert "locked" in find(page, "#message").text
    # The right password and code do not open a locked account.
    sign_in(page, server.url, rita.username, PASSWORD, code_for(rita, clock, steps=1))
    assert "locked" in find(page, "#message").text
    assert page.current_url.endswith("/staff/login")
    shot(page, "09-locked")
