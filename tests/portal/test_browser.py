"""Headless Debian Chromium: a citizen fills a generated form, meets an error, fixes it, uploads a
document and submits; an officer opens the case; axe-core scans every page on the way.

Needs /usr/bin/chromium and /usr/bin/chromedriver (Debian's chromium and chromium-driver; .ci/run
installs them). axe-core's axe.min.js is vendored in tests/portal/vendor (npm axe-core 4.14.1).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.portal.conftest import PNG, LiveServer, PortalApp

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
AXE = Path(__file__).parent / "vendor" / "axe.min.js"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.xdist_group("live_server"),
    pytest.mark.skipif(
        not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
        reason="/usr/bin/chromium or /usr/bin/chromedriver not found (Debian chromium, chromium-driver)",
    ),
]


@pytest.fixture
def browser() -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=412,915"):
        options.add_argument(arg)
    options.add_argument("--lang=mn")
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(60)
    driver.implicitly_wait(10)  # find_element waits for the next page after a click
    yield driver
    driver.quit()


def axe_violations(driver: Any) -> list[dict[str, Any]]:
    """Serious and critical axe-core violations on the current page (WCAG 2.1 A and AA rules)."""
    if not driver.execute_script("return typeof window.axe !== 'undefined'"):
        driver.execute_script(AXE.read_text(encoding="utf-8"))
    result = driver.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})
           .then(r => done(JSON.stringify(r.violations)),
                 e => done(JSON.stringify([{id: 'axe-error', impact: 'critical', help: String(e)}])));
        """
    )
    violations = json.loads(result)
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n.get("target") for n in v.get("nodes", [])][:3]}
        for v in violations
        if v.get("impact") in ("serious", "critical")
    ]


def wait_for_url(driver: Any, pattern: str) -> None:
    """Clicking a submit button does not wait for the next page; this does."""
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 20).until(lambda d: re.search(pattern, d.current_url) is not None)


def click_and_reload(driver: Any, element: Any) -> None:
    """Click a submit button and wait until its page has been replaced by the server's answer."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    def replaced(_: Any) -> bool:
        try:
            element.is_enabled()  # raises once the old page is gone
        except WebDriverException:
            return True
        return False

    element.click()
    WebDriverWait(driver, 20).until(replaced)


class Scan:
    def __init__(self, driver: Any) -> None:
        self.driver = driver
        self.found: dict[str, list[dict[str, Any]]] = {}

    def __call__(self, name: str) -> None:
        self.found[name] = axe_violations(self.driver)


def test_citizen_fills_meets_error_fixes_uploads_submits(portal_app: PortalApp, browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    scan = Scan(browser)
    receipt_file = tmp_path / "receipt.png"
    receipt_file.write_bytes(PNG)
    with LiveServer(portal_app.app) as server:
        go = lambda path: browser.get(server.url + path)  # noqa: E731
        go("/")
        scan("home")
        go("/?q=gerchilgee")
        browser.find_element(By.LINK_TEXT, "Гэрчилгээ").click()
        scan("service")
        browser.find_element(By.CSS_SELECTOR, "a.start-button").click()
        assert "/login" in browser.current_url
        scan("login")
        browser.find_element(By.ID, "register_number").send_keys("УБ99032112")
        click_and_reload(browser, browser.find_element(By.CSS_SELECTOR, "form button[type=submit].button"))
        click_and_reload(browser, browser.find_element(By.CSS_SELECTOR, "button.start-button"))
        wait_for_url(browser, r"/apply/\d+/0$")
        scan("form")

        damage = browser.find_element(By.ID, "f-damage")
        assert not damage.is_displayed()
        browser.find_element(By.CSS_SELECTOR, "label[for='f-reason-1']").click()  # "damaged"
        assert damage.is_displayed()  # shown live by the same expression the server uses
        browser.find_element(By.ID, "f-applicant_phone").send_keys("99112233")
        browser.find_element(By.ID, "f-copies").send_keys("two")
        browser.find_element(By.CSS_SELECTOR, "label[for='f-district']").click()  # Bayangol
        khoroo = Select(browser.find_element(By.ID, "f-khoroo"))
        assert [o.text for o in khoroo.options][1:] == ["1-р хороо", "2-р хороо", "3-р хороо"]  # filtered live
        khoroo.select_by_value("2")
        click_and_reload(browser, browser.find_element(By.CSS_SELECTOR, "button[name=_continue]"))

        summary = browser.find_element(By.CSS_SELECTOR, ".error-summary")
        assert browser.switch_to.active_element == summary  # focus moved to the error summary
        links = [a.get_attribute("href").split("#")[1] for a in summary.find_elements(By.TAG_NAME, "a")]
        assert "f-copies" in links and "f-damage" in links
        scan("form with errors")
        summary.find_element(By.CSS_SELECTOR, "a[href='#f-copies']").click()
        copies = browser.find_element(By.ID, "f-copies")
        assert "f-copies-error" in copies.get_attribute("aria-describedby")
        copies.clear()
        copies.send_keys("2")
        browser.find_element(By.ID, "f-damage").send_keys("Урагдсан")
        click_and_reload(browser, browser.find_element(By.CSS_SELECTOR, "button[name=_continue]"))
        wait_for_url(browser, "/documents$")
        scan("documents")
        browser.find_element(By.ID, "f-doc-receipt-file").send_keys(str(receipt_file))
        click_and_reload(browser, browser.find_element(By.CSS_SELECTOR, ".upload-form button[type=submit]"))
        assert "receipt.png" in browser.find_element(By.TAG_NAME, "main").text
        click_and_reload(browser, browser.find_element(By.CSS_SELECTOR, "button[name=_continue]"))
        wait_for_url(browser, "/check$")
        scan("check answers")
        assert "Урагдсан" in browser.find_element(By.TAG_NAME, "main").text
        click_and_reload(browser, browser.find_element(By.ID, "submit"))
        wait_for_url(browser, "/receipt$")
        tracking = re.search(r"TS-\d{6}-[A-Z0-9]{6}", browser.page_source).group(0)  # type: ignore[union-attr]
        scan("receipt")
        go("/my")
        scan("my applications")
        go(f"/applications/{tracking}")
        scan("application")

        browser.delete_all_cookies()
        go("/staff/login")
        scan("staff login")
        browser.find_element(By.ID, "username").send_keys("gasr-bayangol")
        browser.find_element(By.ID, "password").send_keys(portal_app.demo_password)
        click_and_reload(browser, browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]"))
        assert tracking in browser.page_source
        scan("queue")
        browser.find_element(By.LINK_TEXT, tracking).click()
        scan("case")
        go("/lang/en?next=/staff")
        assert "Work queue" in browser.page_source
        scan("queue (English)")
        # The scanner itself must see problems: an unlabelled input and an image without alt text.
        browser.execute_script(
            "document.querySelector('main').insertAdjacentHTML('beforeend', '<input type=text><img src=x.png>')"
        )
        assert {"label", "image-alt"} <= {v["id"] for v in axe_violations(browser)}

    assert {page: v for page, v in scan.found.items() if v} == {}


def test_add_another_and_cascading_work_without_javascript(portal_app: PortalApp, tmp_path: Path) -> None:
    """The same form with JavaScript off: rows are added by a submit button, khoroo by a reload button."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(arg)
    options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.implicitly_wait(10)
    try:
        with LiveServer(portal_app.app) as server:
            driver.get(server.url + "/login?next=/services/test-certificate")
            driver.find_element(By.ID, "register_number").send_keys("УБ99032112")
            click_and_reload(driver, driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]"))
            click_and_reload(driver, driver.find_element(By.CSS_SELECTOR, "button.start-button"))
            refresh = driver.find_element(By.CSS_SELECTOR, "button[name=_refresh]")
            assert refresh.is_displayed()  # without JavaScript the reload button is there
            driver.find_element(By.CSS_SELECTOR, "label[for='f-district-1']").click()  # Khan-Uul
            click_and_reload(driver, refresh)
            khoroo = Select(driver.find_element(By.ID, "f-khoroo"))
            assert [o.text for o in khoroo.options][1:] == ["1-р хороо", "2-р хороо"]
            click_and_reload(driver, driver.find_element(By.CSS_SELECTOR, "button[name=_add]"))
            click_and_reload(driver, driver.find_element(By.CSS_SELECTOR, "button[name=_add]"))
            assert len(driver.find_elements(By.CSS_SELECTOR, "input[name$='.name']")) == 2
            click_and_reload(driver, driver.find_element(By.CSS_SELECTOR, "button[name=_remove][value='children.0']"))
            assert len(driver.find_elements(By.CSS_SELECTOR, "input[name$='.name']")) == 1
    finally:
        driver.quit()
