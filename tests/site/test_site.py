"""The rendered book as a reader gets it, checked in a real (headless) Chromium.

Needs the built site (`make book`) and Debian's chromium; `make site` does both. Every
page of _toc.yml is loaded from a server on 127.0.0.1: no console error, no failed or
foreign request, every image loaded, every image with alt text; on the top-5 page,
clicking a class button shows that class's map. Screenshots go to _build/screenshots/.
"""
from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import threading
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"]

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(),
                       reason="Debian's chromium is not installed (apt-get install chromium)"),
]


def toc_pages() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    pages = [toc["root"]]
    for part in toc.get("parts", []):
        pages += [c["file"] for c in part["chapters"]]
    return pages


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def server():
    if not (SITE / "index.html").is_file():
        pytest.fail("no built site in _build/html: run `make book` first (or `make site`)")
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(SITE)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


def open_page(browser, url: str):
    """A page with listeners that record console errors, failed requests and foreign requests."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.problems = []
    page.requested = []
    origin = re.match(r"https?://[^/]+", url).group(0)

    def on_request(request):
        page.requested.append(request.url)
        if not request.url.startswith((origin, "data:", "blob:", "about:")):
            page.problems.append(f"request leaves the site: {request.url}")

    page.on("console", lambda msg: msg.type == "error" and page.problems.append(f"console error: {msg.text}"))
    page.on("pageerror", lambda err: page.problems.append(f"page error: {err}"))
    page.on("request", on_request)
    page.on("requestfailed", lambda r: page.problems.append(f"failed request: {r.url} ({r.failure})"))
    page.on("response", lambda r: r.status >= 400 and page.problems.append(f"HTTP {r.status}: {r.url}"))
    page.goto(url, wait_until="networkidle")
    return page


def images(page) -> list[dict]:
    return page.evaluate("""() => Array.from(document.images).map(img => ({
        src: img.currentSrc.slice(0, 120), alt: img.getAttribute('alt'), complete: img.complete,
        width: img.naturalWidth, visible: img.offsetParent !== null}))""")


@pytest.mark.parametrize("page_path", toc_pages())
def test_page_loads_cleanly(server, browser, page_path):
    page = open_page(browser, f"{server}/{page_path}.html")
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.wait_for_timeout(300)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{Path(page_path).name}.png"), full_page=True)
    imgs = images(page)
    has_widgets = page.evaluate("() => !!document.querySelector("
                                "'script[type=\"application/vnd.jupyter.widget-state+json\"]')")
    page.close()
    assert not page.problems, "\n".join(page.problems)
    loads_manager = any("/_static/widgets/embed.js" in url for url in page.requested)
    assert loads_manager == has_widgets, "the widget manager must load exactly on the pages that hold widgets"
    broken = [i["src"] for i in imgs if i["visible"] and not (i["complete"] and i["width"] > 0)]
    assert not broken, f"images that did not load: {broken}"
    no_alt = [i["src"] for i in imgs if i["visible"] and (not i["alt"] or re.search(r"\.(png|jpe?g|svg)$", i["alt"]))]
    assert not no_alt, f"images without a real alt text: {no_alt}"
    if "chapters/" in page_path:
        assert any(i["visible"] and i["width"] > 0 for i in imgs), "a chapter page shows no figure"


def test_launch_buttons_point_to_colab_and_the_repository(server, browser):
    repo = re.search(r"repository:\s*\n\s*url:\s*(\S+)", (ROOT / "_config.yml").read_text()).group(1)
    owner_repo = repo.removeprefix("https://github.com/")
    page = open_page(browser, f"{server}/book/chapters/01_what_is_cam.html")
    hrefs = page.evaluate("() => Array.from(document.querySelectorAll('a')).map(a => a.href)")
    page.close()
    colab = f"https://colab.research.google.com/github/{owner_repo}/blob/main/book/chapters/01_what_is_cam.ipynb"
    assert colab in hrefs
    assert repo in hrefs


VISIBLE_MAP_SRC = """() => Array.from(document.querySelectorAll('.cam-static-explorer .widget-html img'))
    .filter(img => img.offsetParent !== null).map(img => img.src)"""


def _visible_map(page) -> str:
    """The src of the one CAM image the static explorer shows (a data URL)."""
    srcs = page.evaluate(VISIBLE_MAP_SRC)
    assert len(srcs) == 1, f"expected one visible map in the explorer, got {len(srcs)}"
    return srcs[0]


def test_top5_explorer_works_without_a_kernel(server, browser):
    page = open_page(browser, f"{server}/book/chapters/04_top5.html")
    explorer = page.locator(".cam-static-explorer")
    explorer.locator(".widget-toggle-button").first.wait_for(timeout=10_000)
    class_buttons = explorer.locator(".widget-toggle-buttons").nth(1).locator("button:visible")
    assert class_buttons.count() == 5
    first = _visible_map(page)
    class_buttons.nth(1).click()
    page.wait_for_function(f"(first) => {{ const s = ({VISIBLE_MAP_SRC})(); "
                           f"return s.length === 1 && s[0] !== first; }}",
                           arg=first, timeout=5_000)
    second = _visible_map(page)
    assert second != first
    assert "bell cote" in page.evaluate("() => Array.from(document.querySelectorAll("
                                        "'.cam-static-explorer .widget-html img'))"
                                        ".filter(i => i.offsetParent !== null)[0].alt")
    photo_buttons = explorer.locator(".widget-toggle-buttons").first.locator("button")
    photo_buttons.nth(2).click()  # another photo: its own class buttons and maps
    page.wait_for_timeout(500)
    assert _visible_map(page) not in (first, second)
    SHOTS.mkdir(parents=True, exist_ok=True)
    explorer.screenshot(path=str(SHOTS / "04_top5_explorer.png"))
    page.close()
    assert not page.problems, "\n".join(page.problems)


def test_chapter_pages_hide_the_colab_set_up_cell():
    """The set-up cell stays in the notebooks (Colab runs it) but not on the rendered pages."""
    chapters = sorted((SITE / "book" / "chapters").glob("*.html"))
    assert chapters, "no rendered chapters: run `make book` first"
    for page in chapters:
        html = page.read_text()
        assert "google.colab" not in html, f"{page.name} shows the Colab set-up cell"
        assert "default_device" in html, f"{page.name} lost its first visible code cell"
