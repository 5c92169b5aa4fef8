"""The rendered book as a reader gets it, checked in a real (headless) Chromium.

Needs the built site (`make book`) and Debian's chromium; `make site` does both. Every
page of _toc.yml is loaded from a server on 127.0.0.1: no console error, no failed or
foreign request, every image loaded, every image with alt text; on the top-5 page,
clicking a class button shows that class's map. At 1280 px an 88-column line fits a code
box and an output box, and no code, output, table, formula or image is wider than its box
(OVERFLOW_JS, also what tools/page_stats.py counts); no code cell shows a comment meant
for the test tools. Screenshots go to _build/screenshots/.
"""

from __future__ import annotations

import http.server
import os
import re
import shutil
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]

pytestmark = [
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (apt-get install chromium)"
    ),
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


# Blocks a reader at 1280 px has to scroll sideways, or sees cut off: `pre` (code cells, text
# outputs, code in the text), tables (HTML outputs, Markdown tables), display formulas and
# images, on the page with every folded cell unfolded. A block counts when its content is
# wider than its box (scrollWidth, which counts clipped content too) or when the block itself
# reaches past the article's text column (a table or image in a scrolling container). Inline
# formulas are left out: their scrollWidth means nothing. One row per block: its kind, the
# first 60 characters of its text (a formula's TeX, an image's alt text) and the two widths.
# tools/page_stats.py imports this, so its counts are the ones this test fails on.
OVERFLOW_JS = """async () => {
  document.querySelectorAll('article details').forEach(d => { d.open = true; });
  const mj = window.MathJax;
  if (mj && mj.startup && mj.startup.promise) await mj.startup.promise;
  const article = document.querySelector('article.bd-article') || document.querySelector('article');
  const style = getComputedStyle(article), outer = article.getBoundingClientRect();
  const left = outer.left + parseFloat(style.paddingLeft), right = outer.right - parseFloat(style.paddingRight);
  const kinds = {pre: 'pre', table: 'table', formula: 'mjx-container[display="true"]', image: 'img'};
  const text = (kind, el) => {
    if (kind === 'image') return el.getAttribute('alt') || el.getAttribute('src') || '';
    if (kind === 'formula' && mj && mj.startup && mj.startup.document) {
      const items = mj.startup.document.getMathItemsWithin(el);
      if (items.length) return items[0].math;
    }
    return el.textContent;
  };
  const wide = [];
  for (const [kind, selector] of Object.entries(kinds)) {
    for (const el of article.querySelectorAll(selector)) {
      if (!el.getClientRects().length) continue;  // not shown (a hidden widget view, say)
      const box = el.getBoundingClientRect();
      const scrolls = kind !== 'image' && el.scrollWidth > el.clientWidth + 1;
      if (!scrolls && box.left >= left - 1 && box.right <= right + 1) continue;
      wide.push({kind, text: text(kind, el).replace(/\\s+/g, ' ').trim().slice(0, 60),
                 content: Math.round(Math.max(el.scrollWidth, box.width)),
                 box: Math.round(scrolls ? el.clientWidth : right - left)});
    }
  }
  return wide;
}"""


def wide_blocks(page) -> list[dict]:
    """The blocks of an open page that scroll or clip sideways (OVERFLOW_JS)."""
    return page.evaluate(OVERFLOW_JS)


def describe_wide(page_path: str, block: dict) -> str:
    """One line for a wide block: its page, kind, first 60 characters and widths."""
    return f'{page_path}: {block["kind"]} "{block["text"]}" ({block["content"]} px in a {block["box"]} px box)'


def images(page) -> list[dict]:
    return page.evaluate("""() => Array.from(document.images).map(img => ({
        src: img.currentSrc.slice(0, 120), alt: img.getAttribute('alt'), complete: img.complete,
        width: img.naturalWidth, visible: img.offsetParent !== null}))""")


@pytest.mark.parametrize("page_path", toc_pages())
def test_page_loads_cleanly(visit, page_path):
    facts = visit(page_path)
    imgs = facts["images"]
    assert not facts["problems"], "\n".join(facts["problems"])
    loads_manager = any("/_static/widgets/embed.js" in url for url in facts["requested"])
    assert loads_manager == facts["hasWidgets"], "the widget manager must load exactly on the pages that hold widgets"
    broken = [i["src"] for i in imgs if i["visible"] and not (i["complete"] and i["width"] > 0)]
    assert not broken, f"images that did not load: {broken}"
    no_alt = [i["src"] for i in imgs if i["visible"] and (not i["alt"] or re.search(r"\.(png|jpe?g|svg)$", i["alt"]))]
    assert not no_alt, f"images without a real alt text: {no_alt}"
    if "chapters/" in page_path:
        assert any(i["visible"] and i["width"] > 0 for i in imgs), "a chapter page shows no figure"
    assert not facts["stars"], f"emphasis that did not render (** in the text): {facts['stars'][:3]}"


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
    page.wait_for_function(
        f"(first) => {{ const s = ({VISIBLE_MAP_SRC})(); return s.length === 1 && s[0] !== first; }}",
        arg=first,
        timeout=5_000,
    )
    second = _visible_map(page)
    assert second != first
    assert "bell cote" in page.evaluate(
        "() => Array.from(document.querySelectorAll("
        "'.cam-static-explorer .widget-html img'))"
        ".filter(i => i.offsetParent !== null)[0].alt"
    )
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


LINE_88 = 'print(f"{camlib.count_params(model) / 1e6:.2f} M parameters, {len(categories)} classes")'
CODE_BOXES = {
    "code cell": ".cell_input div.highlight pre",
    "text output": ".cell_output div.highlight pre",
    "folded code cell": "details .cell_input div.highlight pre",
}
FILL_BOX = """([selector, line]) => {
    document.querySelectorAll('article details').forEach(d => { d.open = true; });
    const pre = document.querySelector('article ' + selector);
    if (!pre) return null;
    pre.textContent = line;
    return {scroll: pre.scrollWidth, client: pre.clientWidth, font: parseFloat(getComputedStyle(pre).fontSize)};
}"""


def test_88_columns_fit_a_code_box_and_an_output_box(server, browser):
    """book/_static/code-columns.css: the chapters' lines are at most 88 columns, and so are their boxes.

    A line of 88 characters (one of chapter 1's) is put into the first code cell, text output
    and folded code cell of the chapters at 1280 px: no box may scroll, and the code font
    stays readable (12 px or more).
    """
    assert len(LINE_88) == 88
    found = {}
    for page_path in [p for p in toc_pages() if "chapters/" in p]:
        page = open_page(browser, f"{server}/{page_path}.html")
        for name, selector in CODE_BOXES.items():
            if name not in found and (box := page.evaluate(FILL_BOX, [selector, LINE_88])):
                found[name] = {"page": page_path, **box}
        page.close()
        if len(found) == len(CODE_BOXES):
            break
    assert len(found) == len(CODE_BOXES), f"no {set(CODE_BOXES) - set(found)} on any chapter page"
    for name, box in found.items():
        assert box["scroll"] <= box["client"], f"88 columns scroll in a {name}: {box}"
        assert box["font"] >= 12, f"a code font under 12 px is hard to read ({name}): {box}"


def test_no_block_is_wider_than_its_box(visit):
    """No code, output, table, display formula or image scrolls or clips sideways at 1280 px."""
    wide = [describe_wide(page_path, block) for page_path in toc_pages() for block in visit(page_path)["wide"]]
    assert not wide, f"{len(wide)} blocks scroll or clip sideways at 1280 px:\n" + "\n".join(wide)


TOOL_COMMENTS = ("NBVAL_", "noqa", "type: ignore", "fmt: off")


def test_no_code_cell_shows_a_comment_for_the_test_tools(visit):
    """Markers for nbval, ruff, mypy or black mean nothing to a reader: the pages show none."""
    shown = [
        f"{page_path}: {line.strip()[:80]!r}"
        for page_path in toc_pages()
        for cell in visit(page_path)["cells"]
        for line in cell.splitlines()
        if any(marker in line for marker in TOOL_COMMENTS)
    ]
    assert not shown, "code cells show comments meant for the test tools:\n" + "\n".join(shown)
