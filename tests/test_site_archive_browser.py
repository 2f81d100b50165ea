"""The archive's site in a real headless Chromium, from file://: a model page shows its trend
charts (with the CI band, points for every run and the change point), and the leaderboard's
hardware filter hides the other machine. Chromium as in test_site_browser (skips locally without
it, fails in CI)."""

from __future__ import annotations

import pytest

from test_site_archive import MACHINE_B, archive_site
from test_site_browser import _open, browser, chromium_present, filter_rows  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return archive_site(tmp_path_factory)


def test_model_page_trend_chart_in_chromium(browser, built):  # noqa: F811
    page = next(p for p in (built["site"] / "models").glob("llava*.html"))
    _open(browser, page)
    charts = browser.execute_script(
        "return [...document.querySelectorAll('svg.trend')].map(s => [s.getAttribute('data-metric'), "
        "s.querySelectorAll('circle.run').length, s.querySelectorAll('polygon.ci-band').length, "
        "s.getBoundingClientRect().width])")
    assert len(charts) == 16  # 4 metrics x 2 scenarios x 2 machines
    assert all(points >= 2 and band == 1 and width > 100 for _, points, band, width in charts)
    assert {metric for metric, *_ in charts} == {"ttft_ms", "ttft_user_ms", "tpot_ms", "decode_tps"}
    assert browser.execute_script("return document.querySelectorAll('line.change-point').length") >= 1
    assert browser.execute_script("return document.scripts.length") == 1


# (width, height) of common windows: desktop, the 1300 px that cut the charts off, laptop, tablet, phone
WINDOWS = ((1920, 1080), (1300, 1000), (1024, 768), (800, 1000), (390, 844))

_EXTENTS = """
return [...document.querySelectorAll('svg.trend')].map(svg => {
  const box = svg.closest('figure').getBoundingClientRect(), own = svg.getBoundingClientRect();
  const parts = [...svg.querySelectorAll('circle.run, text, polyline, polygon, line')].map(e => e.getBoundingClientRect());
  return {figure: [box.left, box.right], svg: [own.left, own.right],
          right: Math.max(...parts.map(r => r.right)), left: Math.min(...parts.map(r => r.left)),
          lastPoint: [...svg.querySelectorAll('circle.run')].map(c => c.getBoundingClientRect().right).pop(),
          dateEnd: [...svg.querySelectorAll('text')].map(t => t.getBoundingClientRect().right).reduce((a, b) => Math.max(a, b))};
});
"""


@pytest.mark.parametrize("width,height", WINDOWS)
def test_trend_charts_fit_their_box_at_common_widths(browser, built, width, height):  # noqa: F811
    """Every trend chart, with everything drawn in it (the last run's point, the end of the date
    axis), lies inside its figure's box: nothing is cut off or painted under the next chart."""
    browser.set_window_size(width, height)
    page = next(p for p in (built["site"] / "models").glob("llava*.html"))
    _open(browser, page)
    charts = browser.execute_script(_EXTENTS)
    assert len(charts) == 16
    for c in charts:
        left, right = c["figure"]
        assert left - 0.5 <= c["svg"][0] and c["svg"][1] <= right + 0.5, (width, c)
        assert left - 0.5 <= c["left"] and c["right"] <= right + 0.5, (width, c)
        assert c["lastPoint"] <= right and c["dateEnd"] <= right, (width, c)
        assert c["svg"][1] - c["svg"][0] > 0.5 * (right - left)  # it fills its box, not a thumbnail


def test_hardware_filter_in_chromium(browser, built):  # noqa: F811
    from selenium.webdriver.common.by import By

    _open(browser, built["site"] / "index.html")
    total, visible = filter_rows(browser, "filter-hardware", MACHINE_B, "data-hardware")
    assert visible and set(visible) == {MACHINE_B} and len(visible) < total
    shown = browser.execute_script(
        "return [...document.querySelectorAll('section.hardware')].filter(s => !s.hidden).length")
    assert shown == 1 and browser.find_element(By.ID, "shown-count").text == str(len(visible))
