"""The site tests' fixtures: the built site on a local server, and Debian's chromium."""

from __future__ import annotations

import functools
import http.server
import threading

import pytest

from tests.site.test_site import CHROMIUM, FLAGS, SHOTS, SITE, QuietHandler, images, open_page, wide_blocks


@pytest.fixture(scope="session")
def server():
    if not (SITE / "index.html").is_file():
        pytest.fail("no built site in _build/html: run `make book` first (or `make site`)")
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(SITE)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


# What the tests read off a page, collected in one visit (a page load at 1280 px costs seconds):
# its problems (console errors, failed or foreign requests), the URLs it requested, its images,
# whether it holds widgets, the blocks wider than their box, the text of its code cells, its
# <html lang>, how many Hangul syllables its article holds, and a full-page screenshot.
VISIT_JS = """() => ({
    hasWidgets: !!document.querySelector('script[type="application/vnd.jupyter.widget-state+json"]'),
    cells: Array.from(document.querySelectorAll('article .cell_input'), c => c.textContent),
    lang: document.documentElement.lang,
    hangul: (document.querySelector('article').innerText.match(/[\\uac00-\\ud7a3]/g) || []).length,
    stars: (() => {  // Markdown emphasis that did not render: "**" left in the prose
        const prose = document.querySelector('article').cloneNode(true);
        prose.querySelectorAll('pre, code, .cell_output, .math').forEach(n => n.remove());
        return (prose.textContent.match(/.{0,30}\\*\\*.{0,30}/g) || []);
    })(),
})"""


@pytest.fixture(scope="session")
def visit(server, browser):
    """``visit("book/preface")`` or ``visit("ko/book/preface")``: what the page shows, read once per session."""
    seen: dict[str, dict] = {}

    def read(page_path: str) -> dict:
        if page_path not in seen:
            page = open_page(browser, f"{server}/{page_path}.html")
            page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
            page.wait_for_timeout(300)
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / f"{page_path.replace('/', '-')}.png"), full_page=True)
            facts = page.evaluate(VISIT_JS)
            facts.update(images=images(page), wide=wide_blocks(page), problems=page.problems, requested=page.requested)
            page.close()
            seen[page_path] = facts
        return seen[page_path]

    return read
