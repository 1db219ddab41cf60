"""Open a generated report in real headless Chromium: figures load, nothing from the network,
no console errors, every section heading present.

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them). Outside CI
(``CI`` unset) the test skips when they are missing; in CI it fails.
"""

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.test_report import CUSTOMER_VALUE_SECTIONS

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,2000",
]


def _binaries() -> tuple[str | None, str | None]:
    return (
        shutil.which("chromium") or shutil.which("chromium-browser"),
        shutil.which("chromedriver"),
    )


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    chromium, driver_path = _binaries()
    if chromium is None or driver_path is None:
        why = (
            "chromium and chromedriver are not installed (apt-get install chromium chromium-driver)"
        )
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but {why}")
        pytest.skip(f"not in CI (CI unset) and {why}")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _open(browser, html: Path) -> None:
    browser.get("about:blank")
    browser.get_log("performance")  # drop what the browser itself loaded before our page
    browser.get_log("browser")
    browser.get(html.resolve().as_uri())
    browser.execute_script(
        "return new Promise(r => document.readyState === 'complete' ? r() :"
        " window.addEventListener('load', () => r()))"
    )


def _requested_urls(browser) -> list[str]:
    urls = []
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


@pytest.mark.slow
def test_report_renders_offline_in_chromium(browser, report_runs) -> None:
    html = report_runs["customer_value"] / "customer_value.html"
    _open(browser, html)

    images = browser.execute_script(
        "return Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.alt])"
    )
    assert len(images) >= 10
    assert all(done and width > 0 for done, width, _ in images), images

    urls = _requested_urls(browser)
    assert urls, "the performance log recorded nothing"
    assert all(u.startswith(("file:", "data:")) for u in urls), urls
    resources = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    assert all(u.startswith(("file:", "data:")) for u in resources), resources

    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []

    headings = browser.execute_script(
        "return Array.from(document.querySelectorAll('main h2')).map(h => h.textContent)"
    )
    text = [h.rstrip("¶").strip() for h in headings]
    for section in CUSTOMER_VALUE_SECTIONS:
        assert section in text, section
    # the malicious channel name is text on the page, not a script
    assert browser.execute_script("return document.scripts.length") == 0
    assert "<script>alert(1)</script>" in browser.execute_script("return document.body.innerText")


@pytest.mark.slow
def test_index_renders_offline_in_chromium(browser, report_runs) -> None:
    _open(browser, report_runs["out"] / "index.html")
    rows = browser.execute_script("return document.querySelectorAll('tbody tr').length")
    assert rows >= 2
    assert all(u.startswith(("file:", "data:")) for u in _requested_urls(browser))
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []


VIEWPORTS = (1400, 390)
"""Desktop and phone widths (CSS pixels) the report must read at."""

OVERFLOW = """
const width = document.documentElement.clientWidth;
const scrolls = el => {
  for (let a = el.parentElement; a; a = a.parentElement) {
    const o = getComputedStyle(a).overflowX;
    const boxed = a.getBoundingClientRect().right <= width + 1;
    if ((o === 'auto' || o === 'scroll') && boxed) return true;
  }
  return false;
};
const wide = [];
for (const el of document.body.querySelectorAll('*')) {
  const r = el.getBoundingClientRect();
  if (r.width && (r.right > width + 1 || r.left < -1) && !scrolls(el))
    wide.push(el.tagName + '.' + el.className + ' ' + Math.round(r.width));
}
return [window.innerWidth, width, document.documentElement.scrollWidth, wide.slice(0, 10)];
"""

FIGURE_TEXT = """
return Array.from(document.querySelectorAll('img[data-min-font-px]')).map(i =>
  [i.alt, parseFloat(i.dataset.minFontPx) * i.getBoundingClientRect().width / i.naturalWidth]);
"""
"""Each figure's smallest text as shown: its size in the drawing the browser chose (a phone
drawing below 800 px), scaled by the width the image is shown at."""

FIGURE_WIDTH = """
const column = document.querySelector('main').clientWidth;
return [column, Array.from(document.querySelectorAll('.clv-figure img')).map(i =>
  [i.alt, i.getBoundingClientRect().width])];
"""

CAPTIONS = """
const width = document.documentElement.clientWidth;
const cut = [];
const all = document.querySelectorAll('figcaption, .clv-caption');
for (const c of all) {
  const r = c.getBoundingClientRect(), box = c.parentElement.getBoundingClientRect();
  if (c.scrollWidth > c.clientWidth + 1 || r.right > Math.min(width, box.right) + 1
      || r.left < Math.max(0, box.left) - 1)
    cut.push([c.textContent.slice(0, 40), Math.round(r.width), Math.round(box.width)]);
}
return [all.length, cut];
"""

SCROLL_CUE = """
return Array.from(document.querySelectorAll('.clv-table-wrap')).map(w => {
  const box = w.querySelector('.clv-scroll'), style = box && getComputedStyle(box);
  return [box !== null && style.overflowX === 'auto',
          box !== null && (style.backgroundImage.match(/radial-gradient/g) || []).length];
});
"""


@pytest.mark.slow
@pytest.mark.parametrize("notebook", ["customer_value", "loyalty_review"])
@pytest.mark.parametrize("width", VIEWPORTS)
def test_report_reads_at_desktop_and_phone_width(browser, report_runs, notebook, width) -> None:
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 600},
    )
    try:
        _open(browser, report_runs[notebook] / f"{notebook}.html")
        viewport, layout_width, page_width, wide = browser.execute_script(OVERFLOW)
        assert viewport == width  # the layout width is this less a desktop scroll bar
        assert page_width <= layout_width, wide
        assert wide == []
        sizes = browser.execute_script(FIGURE_TEXT)
        assert len(sizes) >= 3
        small = [(alt, round(px, 1)) for alt, px in sizes if px < (11.0 if width < 600 else 9.0)]
        assert small == []
        column, shown = browser.execute_script(FIGURE_WIDTH)
        if width > 600:  # the figures fill the column, up to their desktop width
            narrow = [(alt, round(w)) for alt, w in shown if w < 0.8 * column]
            assert narrow == [], column
        assert all(w <= column + 1 for _, w in shown)
        count, cut = browser.execute_script(CAPTIONS)
        assert count >= 5 and cut == []
        cues = browser.execute_script(SCROLL_CUE)  # each table scrolls in a box with shadows
        assert cues and all(scrolls and shadows == 2 for scrolls, shadows in cues)
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


@pytest.mark.slow
def test_index_reads_at_phone_width(browser, report_runs) -> None:
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 390, "height": 900, "deviceScaleFactor": 1, "mobile": True},
    )
    try:
        _open(browser, report_runs["out"] / "index.html")
        _, layout_width, page_width, wide = browser.execute_script(OVERFLOW)
        assert page_width <= layout_width and wide == []
        # the report link is the first column: on the first screen of the scroll box
        link = browser.execute_script(
            "return document.querySelector('tbody a').getBoundingClientRect().right"
        )
        assert link <= layout_width
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


TABLES = """
const out = [];
const width = document.documentElement.clientWidth;
for (const t of document.querySelectorAll('table')) {
  const box = t.parentElement.getBoundingClientRect();
  const r = t.getBoundingClientRect();
  if (r.width > box.width + 1 || r.right > width + 1 || t.scrollWidth > t.clientWidth + 1)
    out.push([t.caption ? t.caption.textContent : '(no caption)', Math.round(r.width),
              Math.round(box.width)]);
}
return [document.querySelectorAll('table').length, out];
"""

TEXT_PX = """
const small = [];
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
while (walker.nextNode()) {
  const node = walker.currentNode;
  if (!node.textContent.trim()) continue;
  const el = node.parentElement;
  const style = getComputedStyle(el);
  if (style.display === 'none' || style.visibility === 'hidden') continue;
  if (el.getClientRects().length === 0) continue;
  const px = parseFloat(style.fontSize);
  if (px < 9) small.push([el.tagName, px, node.textContent.trim().slice(0, 40)]);
}
return small;
"""

A4_PRINT_PX = 703
"""The printable width of an A4 page with 12 mm margins, in CSS pixels (186 mm at 96 dpi)."""


@pytest.mark.slow
@pytest.mark.parametrize("notebook", ["customer_value", "loyalty_review"])
@pytest.mark.parametrize("width", VIEWPORTS)
def test_no_table_overflows_and_no_text_under_9_px(browser, report_runs, notebook, width) -> None:
    """Defects 10 and 21: at 1400 and 390 px every table fits its box (it wraps, or turns into
    cards on a phone: no sideways scrolling) and no text is smaller than 9 px."""
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 600},
    )
    try:
        _open(browser, report_runs[notebook] / f"{notebook}.html")
        count, wide = browser.execute_script(TABLES)
        assert count >= 5
        assert wide == []
        assert browser.execute_script(TEXT_PX) == []
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


@pytest.mark.slow
@pytest.mark.parametrize("notebook", ["customer_value", "loyalty_review"])
def test_every_table_fits_an_a4_page_in_print(browser, report_runs, notebook) -> None:
    """Defect 10: with the print stylesheet every table fits the width of an A4 page."""
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": A4_PRINT_PX, "height": 1000, "deviceScaleFactor": 1, "mobile": False},
    )
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        _open(browser, report_runs[notebook] / f"{notebook}.html")
        assert browser.execute_script("return matchMedia('print').matches")
        count, wide = browser.execute_script(TABLES)
        assert count >= 5 and wide == []
        assert browser.execute_script(TEXT_PX) == []
    finally:
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
