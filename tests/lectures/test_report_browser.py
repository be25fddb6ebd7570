"""The lecture report as a real browser lays it out: typeset math, fitting drawings, loaded images, live links.

Drives the system Chromium (Debian's ``chromium``) through Playwright's sync API at a projector-sized viewport
of 1400x900 and saves a screenshot of every top-level (``h2``) block into ``$SYMGRAD_ARTIFACTS`` (or a pytest
temporary folder) for a person to look at.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from symgrad.lectures.report import write_report
from symgrad.lectures.report_graphs import graph_section
from symgrad.lectures.report_training import training_section

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # the browser test needs both Playwright and a Chromium; without either it cannot run
    sync_playwright = None

CHROMIUM = os.environ.get("SYMGRAD_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
if sync_playwright is None or not os.access(CHROMIUM, os.X_OK):
    missing = [name for name, there in (("the playwright package", sync_playwright is not None),
                                        (f"a Chromium at {CHROMIUM}", os.access(CHROMIUM, os.X_OK))) if not there]
    pytest.skip(f"the real-browser report test needs {' and '.join(missing)}", allow_module_level=True)

#: the switches that keep a headless system Chromium quiet and off the network (no sandbox: CI runs as root)
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1400, "height": 900}
#: a screenshot of a long block stops here: enough to judge its look, small enough to open
SHOT_MAX_HEIGHT = 4000


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    """The report, written once, open in headless Chromium after its fonts and images have settled."""
    out = tmp_path_factory.mktemp("report")
    index = write_report(out, extras=graph_section, appendix=training_section)
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            tab = browser.new_page(viewport=VIEWPORT)
            tab.goto(index.resolve().as_uri(), wait_until="load")
            tab.evaluate("document.fonts.ready.then(() => true)")
            yield tab
        finally:
            browser.close()


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory) -> Path:
    folder = os.environ.get("SYMGRAD_ARTIFACTS")
    path = Path(folder) / "report-browser" if folder else tmp_path_factory.mktemp("report-browser")
    path.mkdir(parents=True, exist_ok=True)
    return path


def test_no_raw_latex_is_visible(page):
    text = page.evaluate("document.body.innerText")
    assert "Which slide claims hold" in text  # the text really is the report's
    leaked = [command for command in ("\\frac", "\\begin", "\\end", "\\partial") if command in text]
    assert not leaked, f"raw LaTeX visible in the rendered report: {leaked}"


def test_every_formula_is_laid_out(page):
    boxes = page.evaluate("""() => Array.from(document.querySelectorAll('math'), (m, i) => {
        const r = m.getBoundingClientRect();
        return {i, width: r.width, height: r.height, text: m.textContent.slice(0, 60)};
    })""")
    assert len(boxes) > 50  # every lecture has derivations; a handful would mean the page lost them
    empty = [box for box in boxes if not (box["width"] > 0 and box["height"] > 0)]
    assert not empty, f"{len(empty)} of {len(boxes)} <math> elements render with no area: {empty[:5]}"


def test_every_image_loads(page):
    images = page.evaluate("""() => Array.from(document.images, img => ({
        alt: img.alt, complete: img.complete, natural: img.naturalWidth}))""")
    assert images, "the report shows no drawings at all"
    broken = [img["alt"] for img in images if not (img["complete"] and img["natural"] > 0)]
    assert not broken, f"images that did not load: {broken}"


def test_no_drawing_is_wider_than_the_column(page):
    """A drawing fits its box, which fits the column; only a drawing marked ``wide`` (one that fitting would
    shrink past legibility) may be wider, and then its box scrolls sideways instead of the page."""
    rows = page.evaluate("""() => {
        const body = getComputedStyle(document.body);
        const column = document.body.clientWidth - parseFloat(body.paddingLeft) - parseFloat(body.paddingRight);
        return Array.from(document.images, img => {
            const box = img.parentElement;
            return {alt: img.alt, wide: img.classList.contains('wide'), column,
                    img: img.getBoundingClientRect().width, box: box.getBoundingClientRect().width,
                    scrolls: ['auto', 'scroll'].includes(getComputedStyle(box).overflowX)};
        });
    }""")
    for row in rows:
        assert row["box"] <= row["column"] + 0.5, f"the box of {row['alt']} is wider than the column: {row}"
        if row["wide"]:
            assert row["scrolls"], f"the wide drawing {row['alt']} sits in a box that does not scroll: {row}"
        else:
            assert row["img"] <= row["box"] + 0.5, f"{row['alt']} is wider than its box: {row}"
    # and nothing at all makes the page itself scroll sideways
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than the window"


def test_every_internal_link_has_a_target(page):
    links = page.evaluate("""() => Array.from(document.querySelectorAll('a[href^="#"]'), a => ({
        href: a.getAttribute('href'),
        found: document.getElementById(decodeURIComponent(a.getAttribute('href').slice(1))) !== null}))""")
    assert any(link["href"] == "#claims" for link in links)  # the contents links to the claims table
    dangling = sorted({link["href"] for link in links if not link["found"]})
    assert not dangling, f"links to no element: {dangling}"


def test_screenshot_of_every_section(page, artifacts):
    """One PNG per ``h2`` block (from its heading to the next), each non-trivial in size."""
    blocks = page.evaluate("""() => {
        // a heading inside a box (the contents) starts its block at the box
        const heads = Array.from(document.querySelectorAll('h2'), h => h.closest('nav') || h);
        const top = el => el.getBoundingClientRect().top + window.scrollY;
        const end = document.documentElement.scrollHeight;
        return heads.map((h, i) => ({
            name: h.id || 'block-' + i, y: top(h),
            height: (i + 1 < heads.length ? top(heads[i + 1]) : end) - top(h)}));
    }""")
    assert len(blocks) >= 7  # contents, claims, five lectures (and the training appendix)
    width = page.evaluate("document.documentElement.clientWidth")
    for number, block in enumerate(blocks):
        shot = artifacts / f"{number:02d}-{block['name']}.png"
        clip = {"x": 0, "y": block["y"], "width": width, "height": min(block["height"], SHOT_MAX_HEIGHT)}
        page.screenshot(path=str(shot), clip=clip, full_page=True)
        assert shot.stat().st_size > 2000, f"{shot.name} is nearly empty"
