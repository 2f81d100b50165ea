"""The leaderboard in a real headless Chromium, opened from disk (file://): column sorting by
clicking a header, the hardware filter, hostile text shown literally, and a screenshot.

Needs Debian's chromium and chromium-driver (``apt-get install -y chromium chromium-driver``) and
selenium (the ``test`` extra). Skipped, with that reason, only where /usr/bin/chromium is absent
and the suite is not running in CI; in CI (``CI=true``, which CI services set) a missing
chromium fails the test instead, so the browser check can never go missing silently.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from test_report_support import HOSTILE_HOST, HOSTILE_SCRIPT, MACHINE_B, demo_site

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")

NEEDS = "needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium chromium-driver)"


def in_ci() -> bool:
    """CI services (GitHub Actions, GitLab, .ci/run's hosts) set CI=true; the test reads it to
    decide between failing and skipping, it configures nothing."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


pytestmark = [pytest.mark.browser]


@pytest.fixture(scope="module", autouse=True)
def chromium_present():
    """Locally a missing browser skips with the reason; in CI it is a failure. Module-scoped
    autouse, so it runs before the (slow) demo site is built."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        if in_ci():
            pytest.fail(f"CI=true but {', '.join(missing)} missing: the browser test must run in CI ({NEEDS})")
        pytest.skip(NEEDS)


CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1400,1000")


@pytest.fixture()
def browser(tmp_path, monkeypatch):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    monkeypatch.setenv("SE_AVOID_STATS", "true")  # selenium: no usage statistics
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS + (f"--user-data-dir={tmp_path / 'profile'}",):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def _open(driver, path: Path) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(path.as_uri())
    WebDriverWait(driver, 30).until(
        lambda d: d.execute_script("return document.documentElement.getAttribute('data-ready')") == "1")


def filter_rows(driver, select_id: str, value: str, attribute: str) -> tuple[int, list[str]]:
    """Choose ``value`` in the filter ``select_id``: (rows in the results tables, ``attribute`` of those shown)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    total = driver.execute_script("return document.querySelectorAll('table.results tbody tr').length")
    Select(driver.find_element(By.ID, select_id)).select_by_value(value)
    return total, driver.execute_script(
        "return [...document.querySelectorAll('table.results tbody tr')].filter(r => !r.hidden)"
        ".map(r => r.getAttribute(arguments[0]))", attribute)


def _column(driver, table, header_text: str) -> tuple[list[str], list[float | None]]:
    """(row keys, numeric sort values) of one column of ``table``, in display order."""
    return driver.execute_script(
        """
        const [table, header] = arguments;
        const index = [...table.tHead.rows[0].cells].findIndex(th => th.textContent === header);
        const rows = [...table.tBodies[0].rows];
        return [rows.map(r => r.textContent),
                rows.map(r => {
                    const v = r.cells[index].getAttribute('data-sort');
                    return v === '' ? null : parseFloat(v);
                })];
        """, table, header_text)


def _ordered(values: list[float | None], descending: bool) -> bool:
    present = [v for v in values if v is not None]
    missing_last = values[len(present):] == [None] * (len(values) - len(present))
    return missing_last and present == sorted(present, reverse=descending)


@pytest.fixture(scope="module")
def site(tiny_run, tmp_path_factory):
    return demo_site(tmp_path_factory, tiny_run.run_dir)


def test_sorting_filtering_and_literal_hostile_text_in_chromium(browser, site, tmp_path):
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    _open(browser, site.out_dir / "index.html")
    with pytest.raises(NoAlertPresentException):
        _ = browser.switch_to.alert  # no injected script ran
    assert browser.execute_script("return document.scripts.length") == 1
    assert browser.execute_script("return document.querySelectorAll('svg, iframe, img[src=\"x\"]').length") == 0
    model_cells = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "td.c-model a")]
    assert HOSTILE_SCRIPT in model_cells  # shown literally, as text
    assert HOSTILE_HOST in browser.find_element(By.CSS_SELECTOR, "table.runs").text

    # sort the first hardware's table by TTFT p50 by clicking its header, then click again
    table = browser.find_elements(By.CSS_SELECTOR, "table.results")[0]
    header = next(th for th in table.find_elements(By.CSS_SELECTOR, "thead th") if th.text.startswith("TTFT p50"))
    header_text = browser.execute_script("return arguments[0].textContent", header)
    before_keys, before_values = _column(browser, table, header_text)
    assert len({v for v in before_values if v is not None}) >= 2  # distinct values: the order can change
    header.click()
    asc_keys, asc_values = _column(browser, table, header_text)
    assert header.get_attribute("aria-sort") == "ascending" and _ordered(asc_values, descending=False)
    header.click()
    desc_keys, desc_values = _column(browser, table, header_text)
    assert header.get_attribute("aria-sort") == "descending" and _ordered(desc_values, descending=True)
    assert sorted(asc_keys) == sorted(before_keys) == sorted(desc_keys)  # same rows, reordered
    assert asc_keys != desc_keys and (asc_keys != before_keys or desc_keys != before_keys)

    # screenshot of the sorted leaderboard
    height = browser.execute_script("return document.body.scrollHeight")
    browser.set_window_size(1400, min(max(height, 800), 6000))
    shot = tmp_path / "leaderboard-sorted.png"
    assert browser.save_screenshot(str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000

    # the hardware filter hides every other hardware's rows and sections
    Select(browser.find_element(By.ID, "filter-hardware")).select_by_value(MACHINE_B)
    visible = browser.execute_script(
        "return [...document.querySelectorAll('table.results tbody tr')].filter(r => !r.hidden)"
        ".map(r => r.getAttribute('data-hardware'))")
    assert visible and set(visible) == {MACHINE_B}
    shown_sections = browser.execute_script(
        "return [...document.querySelectorAll('section.hardware')].filter(s => !s.hidden).length")
    assert shown_sections == 1
    assert browser.find_element(By.ID, "shown-count").text == str(len(visible))


def test_hostile_model_page_title_is_literal(browser, site):
    _open(browser, site.model_pages[HOSTILE_SCRIPT])
    assert browser.title == HOSTILE_SCRIPT
    assert browser.execute_script("return document.querySelector('h1').textContent") == HOSTILE_SCRIPT
    assert browser.execute_script("return document.scripts.length") == 1
