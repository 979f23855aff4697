"""The built HTML book, opened page by page in headless Chromium (selenium).

The test does not build the book: executing every chapter again would double the CI time.
It checks the book that ``scripts/build_book.sh`` just built in ``_build/html`` (or the
folder named by ``EASYHARD_BOOK_HTML``); CI (``.ci/run``) runs it right after the build.
It is skipped, with the reason, where Chromium, chromedriver or selenium is missing, where
no book is built, or where the built book is older than its sources. With
``EASYHARD_BROWSER_REQUIRED=1`` (set by CI) each of these is a failure instead.

Each page is loaded once (module fixture); the tests then assert on what the browser saw:
MathJax typeset every formula, every image loaded, figures are opaque (readable in dark
mode), widgets render, each chapter's Colab button opens its notebook at the pinned
revision of ``_config.yml``, and the console logged no error. Two screenshots (one page in
light mode, one in dark mode) are saved to ``_build/browser-artifacts/``.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

import easyhard

ROOT = Path(__file__).resolve().parents[1]
BOOK = Path(os.environ.get("EASYHARD_BOOK_HTML", ROOT / "_build" / "html"))
ARTIFACTS = Path(os.environ.get("EASYHARD_BROWSER_ARTIFACTS", BOOK.parent / "browser-artifacts"))
REQUIRED = os.environ.get("EASYHARD_BROWSER_REQUIRED") == "1"
# Sources whose change makes a built book stale.
SOURCES = ["_config.yml", "_toc.yml", "references.bib", "chapters", "vendor"]
# Pages saved as screenshots: (page, colour mode).
SCREENSHOTS = {"chapters/mixed_cumulant_model.html": "light", "chapters/easy_and_hard.html": "dark"}
CHROME_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",  # containers often have a tiny /dev/shm
    "--window-size=1280,1000",
]
PAGE_TIMEOUT_S = 60


def _unavailable() -> str | None:
    """Why the browser check cannot run here, or None if it can."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -r requirements.txt)"
    if _chromium() is None:
        return "Chromium is not installed (Debian: apt-get install chromium chromium-driver)"
    if _chromedriver() is None:
        return "chromedriver is not installed (Debian: apt-get install chromium-driver)"
    index = BOOK / "index.html"
    if not index.is_file():
        where = index.relative_to(ROOT) if index.is_relative_to(ROOT) else index
        return f"no built book at {where}: run scripts/build_book.sh first"
    built = index.stat().st_mtime
    for name in SOURCES:
        path = ROOT / name
        files = [p for p in path.rglob("*") if p.is_file()] if path.is_dir() else [path]
        newer = [p for p in files if p.exists() and p.stat().st_mtime > built]
        if newer:
            return (
                f"the built book is older than {newer[0].relative_to(ROOT)}: "
                "rerun scripts/build_book.sh"
            )
    return None


def _chromium() -> str | None:
    names = [os.environ.get("CHROMIUM", ""), "chromium", "chromium-browser", "google-chrome"]
    return next((shutil.which(n) for n in names if n and shutil.which(n)), None)


def _chromedriver() -> str | None:
    names = [os.environ.get("CHROMEDRIVER", ""), "chromedriver"]
    return next((shutil.which(n) for n in names if n and shutil.which(n)), None)


def pinned_revision() -> str:
    """The revision that the Colab buttons must open, from ``_config.yml``.

    It must be the release tag ``v<easyhard.__version__>`` or a 40-digit commit,
    never a moving branch.
    """
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    rev = str(config["repository"]["branch"])
    tag = f"v{easyhard.__version__}"
    if rev != tag and not re.fullmatch(r"[0-9a-f]{40}", rev):
        raise AssertionError(
            f"_config.yml repository.branch is {rev!r}: the Colab buttons must open a pinned "
            f"revision, the release tag {tag!r} or a full commit hash, never a branch"
        )
    return rev


def colab_url(stem: str, rev: str) -> str:
    """The Colab address of chapter ``stem`` at revision ``rev``."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    colab = config["launch_buttons"]["colab_url"].rstrip("/")
    repo = config["repository"]["url"].removeprefix("https://github.com/").strip("/")
    return f"{colab}/github/{repo}/blob/{rev}/chapters/{stem}.ipynb"


@dataclass
class PageReport:
    """What the browser saw on one page."""

    path: str
    console: list[dict] = field(default_factory=list)
    math: dict = field(default_factory=dict)
    images: list[dict] = field(default_factory=list)
    colab_links: list[str] = field(default_factory=list)
    widgets: dict = field(default_factory=dict)
    fonts_failed: list[str] = field(default_factory=list)


# JavaScript run in the page once it has settled.
MATH_JS = """
const maths = Array.from(document.querySelectorAll('.math'));
const untypeset = maths.filter(m => !m.querySelector('mjx-container'))
                       .map(m => m.textContent.trim().slice(0, 80));
const clone = document.body.cloneNode(true);
clone.querySelectorAll('pre, code, script, style, textarea, mjx-container')
     .forEach(e => e.remove());
const text = clone.textContent;
const raw = ['$$', '\\\\(', '\\\\[', '\\\\begin{'].filter(s => text.includes(s))
    .map(s => { const i = text.indexOf(s); return text.slice(Math.max(0, i - 40), i + 40); });
return {
  containers: document.querySelectorAll('mjx-container').length,
  maths: maths.length,
  untypeset: untypeset,
  raw: raw,
  errors: Array.from(document.querySelectorAll('mjx-merror'))
               .map(e => (e.getAttribute('data-mjx-error') || e.textContent).slice(0, 120)),
};
"""
IMAGES_JS = """
return Array.from(document.images).map(i => ({
  src: i.currentSrc || i.src, complete: i.complete, width: i.naturalWidth}));
"""
WIDGETS_JS = """
return {
  state: document.querySelectorAll('script[type="application/vnd.jupyter.widget-state+json"]').length,
  views: document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]').length,
  rendered: document.querySelectorAll('.widget-slider, .widget-dropdown, .widget-toggle-buttons, .jupyter-widgets.widget-inline-hbox, .jupyter-widgets.widget-box').length,
};
"""


def _driver():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = _chromium()
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tempfile.mkdtemp(prefix='easyhard-chromium-')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(_chromedriver()), options=options)
    driver.set_page_load_timeout(PAGE_TIMEOUT_S)
    driver.set_script_timeout(PAGE_TIMEOUT_S)
    return driver


def _settle(driver) -> None:
    """Wait for the load event, MathJax's first typeset, every image and the widgets."""
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(driver, PAGE_TIMEOUT_S)
    wait.until(lambda d: d.execute_script("return document.readyState") == "complete")
    if driver.execute_script("return !!document.querySelector('script[src*=\"mathjax\" i]')"):
        wait.until(
            lambda d: d.execute_script(
                "return !!(window.MathJax && MathJax.startup && MathJax.startup.promise)"
            )
        )
        driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "MathJax.startup.promise.then(() => done(true), () => done(false));"
        )
    wait.until(
        lambda d: d.execute_script("return Array.from(document.images).every(i => i.complete)")
    )
    if driver.execute_script(WIDGETS_JS)["views"]:
        try:
            wait.until(lambda d: d.execute_script(WIDGETS_JS)["rendered"] > 0)
        except Exception:  # reported by test_widgets_render
            pass
    # Errors of asynchronous work (promises, fonts) arrive just after.
    driver.execute_async_script("setTimeout(arguments[arguments.length - 1], 500)")


def _visit(driver, page: Path) -> PageReport:
    driver.get(page.as_uri())
    _settle(driver)
    rel = page.relative_to(BOOK).as_posix()
    return PageReport(
        path=rel,
        math=driver.execute_script(MATH_JS),
        images=driver.execute_script(IMAGES_JS),
        colab_links=driver.execute_script(
            "return Array.from(document.querySelectorAll('a[href*=\"colab.research.google.com\"]'))"
            ".map(a => a.href)"
        ),
        widgets=driver.execute_script(WIDGETS_JS),
        fonts_failed=driver.execute_script(
            "return Array.from(document.fonts).filter(f => f.status === 'error')"
            ".map(f => f.family + ' ' + f.weight)"
        ),
        console=driver.get_log("browser"),
    )


def _screenshot(driver, page: Path, mode: str, out: Path) -> None:
    """A full-page screenshot of ``page`` in colour ``mode`` ("light" or "dark")."""
    driver.get(page.as_uri())
    driver.execute_script(
        f"localStorage.setItem('mode', '{mode}'); localStorage.setItem('theme', '{mode}');"
    )
    driver.refresh()
    _settle(driver)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, min(int(height), 12000))
    driver.save_screenshot(str(out))
    driver.set_window_size(1280, 1000)
    driver.execute_script("localStorage.clear()")
    driver.get_log("browser")  # drained: the pages were checked in _visit


def book_pages() -> list[Path]:
    """Every HTML page of the built book (not the copied sources or static files)."""
    skip = {"_static", "_sources", "_images"}
    return sorted(p for p in BOOK.rglob("*.html") if not skip & set(p.relative_to(BOOK).parts))


def notebook_chapters() -> list[str]:
    """The stems of the chapters built from notebooks (their pages carry a Colab button)."""
    return sorted(p.stem for p in (BOOK / "_sources" / "chapters").glob("*.ipynb"))


@pytest.fixture(scope="module")
def reports() -> dict[str, PageReport]:
    reason = _unavailable()
    if reason is not None:
        if REQUIRED:
            pytest.fail(f"browser check required (EASYHARD_BROWSER_REQUIRED=1) but {reason}")
        pytest.skip(reason)
    driver = _driver()
    try:
        out = {page.relative_to(BOOK).as_posix(): _visit(driver, page) for page in book_pages()}
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for name, mode in SCREENSHOTS.items():
            if (BOOK / name).is_file():
                _screenshot(driver, BOOK / name, mode, ARTIFACTS / f"{Path(name).stem}-{mode}.png")
    finally:
        driver.quit()
    return out


def test_every_page_was_checked(reports):
    assert "chapters/intro.html" in reports and len(reports) >= 5
    stems = notebook_chapters()
    assert stems, "no chapter built from a notebook"
    missing = [s for s in stems if f"chapters/{s}.html" not in reports]
    assert not missing, f"chapters without a page: {missing}"


def test_mathjax_typeset_every_formula(reports):
    problems = {}
    for path, r in reports.items():
        m = r.math
        if m["untypeset"] or m["raw"] or m["errors"] or m["containers"] < m["maths"]:
            problems[path] = m
    assert not problems, f"math not typeset by MathJax: {problems}"
    # The chapters are full of formulas: a book with no container typeset nothing.
    assert sum(r.math["containers"] for r in reports.values()) > 50


def test_every_image_loaded(reports):
    broken = {
        path: [i["src"] for i in r.images if not (i["complete"] and i["width"] > 0)]
        for path, r in reports.items()
    }
    broken = {k: v for k, v in broken.items() if v}
    assert not broken, f"images that did not load: {broken}"


def test_figures_are_opaque(reports):
    """Output figures have an opaque background, so they read on the dark theme and in print."""
    from urllib.parse import unquote, urlparse

    import numpy as np
    from PIL import Image

    figures = {
        Path(unquote(urlparse(i["src"]).path))
        for r in reports.values()
        for i in r.images
        if "/_images/" in i["src"] and i["src"].lower().endswith(".png")
    }
    transparent = []
    for fig in sorted(figures):
        with Image.open(fig) as im:
            if "A" in im.getbands() or im.mode == "P" and "transparency" in im.info:
                alpha = np.asarray(im.convert("RGBA"))[..., 3]
                if alpha.min() < 255:
                    transparent.append(fig.name)
    assert not transparent, f"figures with a transparent background: {transparent}"


def test_colab_links_open_the_notebook_at_the_pinned_revision(reports):
    rev = pinned_revision()
    for stem in notebook_chapters():
        links = set(reports[f"chapters/{stem}.html"].colab_links)
        assert links == {colab_url(stem, rev)}, f"{stem}: Colab links {links}"
    for path, r in reports.items():
        for link in r.colab_links:
            assert f"/blob/{rev}/" in link, f"{path}: Colab link {link} is not at {rev}"


def test_widgets_render(reports):
    """Pages with saved widget state show the widgets (the JavaScript loaded and ran)."""
    dead = {
        p: r.widgets for p, r in reports.items() if r.widgets["views"] and not r.widgets["rendered"]
    }
    assert not dead, f"widgets not rendered: {dead}"


def test_fonts_loaded(reports):
    failed = {p: r.fonts_failed for p, r in reports.items() if r.fonts_failed}
    assert not failed, f"fonts that failed to load: {failed}"


def test_no_console_errors(reports):
    errors = {
        path: [e["message"] for e in r.console if e["level"] == "SEVERE"]
        for path, r in reports.items()
    }
    errors = {k: v for k, v in errors.items() if v}
    assert not errors, f"console errors: {errors}"


def test_screenshots_saved(reports):
    for name, mode in SCREENSHOTS.items():
        shot = ARTIFACTS / f"{Path(name).stem}-{mode}.png"
        assert shot.is_file() and shot.stat().st_size > 10_000, shot


def test_pinned_revision_is_the_release():
    """The Colab pin, the package version and CITATION.cff name the same release (no browser)."""
    rev = pinned_revision()
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    assert str(citation["version"]) == easyhard.__version__, citation["version"]
    assert colab_url("intro", rev).startswith("https://colab.research.google.com/github/")
