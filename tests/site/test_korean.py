"""The Korean site (_build/html/ko) in headless Chromium: what a Korean reader meets.

Same checks as the English pages (tests/site/test_site.py: no request leaves the site, no console
error, every figure loads, no block wider than its box), plus what only the second language needs:
``<html lang="ko">``, a link on every page to the same page in the other language and back,
Colab buttons that open the Korean notebooks, and Hangul that renders as glyphs, not as empty
boxes (a missing CJK font draws every syllable as the same .notdef box).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.site.test_site import ROOT, SITE, describe_wide, open_page, toc_pages

KO = SITE / "ko"


LINK = re.compile(r'<p class="language-link"><a href="([^"]+)" hreflang="(en|ko)"')


def _language_link(html_file: Path) -> tuple[Path, str]:
    """Where the page's language link points (a file of the built site), and its language."""
    found = LINK.search(html_file.read_text())
    assert found, f"{html_file.relative_to(SITE)} has no link to the other language"
    return (html_file.parent / found.group(1)).resolve(), found.group(2)


def test_every_page_has_a_korean_twin_and_they_link_each_other():
    assert (KO / "index.html").is_file(), "no Korean site in _build/html/ko: run `make book` (or `make site`)"
    for page_path in toc_pages():
        english, korean = (SITE / page_path).with_suffix(".html"), (KO / page_path).with_suffix(".html")
        assert _language_link(english) == (korean.resolve(), "ko")
        assert _language_link(korean) == (english.resolve(), "en")
        assert "Show code cell" not in korean.read_text(), f"ko/{page_path}: myst-nb's fold buttons in English"


@pytest.mark.parametrize("page_path", toc_pages())
def test_korean_page_loads_cleanly_and_fits(visit, page_path):
    facts = visit(f"ko/{page_path}")
    assert facts["lang"] == "ko"
    assert not facts["problems"], "\n".join(facts["problems"])
    broken = [i["src"] for i in facts["images"] if i["visible"] and not (i["complete"] and i["width"] > 0)]
    assert not broken, f"images that did not load: {broken}"
    wide = [describe_wide(f"ko/{page_path}", block) for block in facts["wide"]]
    assert not wide, f"{len(wide)} blocks scroll or clip sideways at 1280 px:\n" + "\n".join(wide)
    # CommonMark closes ** only before a space or punctuation when punctuation precedes it:
    # "**43.0 %**를" shows its stars, so a translation must put the particle inside the bold
    assert not facts["stars"], f"emphasis that did not render (** in the text): {facts['stars'][:3]}"
    assert facts["hangul"] > 20, f"the Korean page holds only {facts['hangul']} Hangul syllables: is it translated?"


# Draws text in the article's own font on a canvas and returns the pixels. A font without Hangul
# falls back to the .notdef glyph, the same empty box for every syllable, so distinct syllables
# drawing identically, or like a code point that no font has, means the reader sees boxes.
GLYPHS_JS = """(texts) => {
    const font = getComputedStyle(document.querySelector('article p')).fontFamily;
    return texts.map(text => {
        const canvas = document.createElement('canvas');
        canvas.width = 64; canvas.height = 40;
        const ctx = canvas.getContext('2d');
        ctx.font = `28px ${font}`;
        ctx.fillText(text, 4, 30);
        return Array.from(ctx.getImageData(0, 0, 64, 40).data).join(',');
    });
}"""


def test_hangul_renders_as_glyphs_not_boxes(server, browser):
    page = open_page(browser, f"{server}/ko/book/chapters/01_what_is_cam.html")
    page.evaluate("document.fonts.ready")
    han, gul, missing = page.evaluate(GLYPHS_JS, ["한", "글", "\U0010fffd"])
    page.close()
    assert han != gul, "two different Hangul syllables draw the same: Hangul falls back to empty boxes"
    assert han != missing, "a Hangul syllable draws like a missing glyph: install a CJK font (fonts-noto-cjk)"


def test_korean_launch_buttons_open_the_korean_notebooks(server, browser):
    repo = re.search(r"repository:\s*\n\s*url:\s*(\S+)", (ROOT / "_config.yml").read_text()).group(1)
    owner_repo = repo.removeprefix("https://github.com/")
    page = open_page(browser, f"{server}/ko/book/chapters/01_what_is_cam.html")
    hrefs = page.evaluate("() => Array.from(document.querySelectorAll('a')).map(a => a.href)")
    page.close()
    colab = f"https://colab.research.google.com/github/{owner_repo}/blob/main/book/chapters/ko/01_what_is_cam.ipynb"
    assert colab in hrefs
    assert not [h for h in hrefs if "colab" in h and "/book/chapters/ko/" not in h]
    download = KO / "_sources" / "book" / "chapters" / "01_what_is_cam.ipynb"
    assert download.read_bytes() == (ROOT / "book" / "chapters" / "ko" / "01_what_is_cam.ipynb").read_bytes()


def test_korean_top5_explorer_works_without_a_kernel(server, browser):
    page = open_page(browser, f"{server}/ko/book/chapters/04_top5.html")
    explorer = page.locator(".cam-static-explorer")
    explorer.locator(".widget-toggle-button").first.wait_for(timeout=10_000)
    buttons = explorer.locator(".widget-toggle-buttons").nth(1).locator("button:visible")
    assert buttons.count() == 5
    before = page.evaluate(
        "() => Array.from(document.querySelectorAll('.cam-static-explorer .widget-html img'))"
        ".filter(i => i.offsetParent !== null).map(i => i.src)"
    )
    buttons.nth(1).click()
    page.wait_for_timeout(500)
    after = page.evaluate(
        "() => Array.from(document.querySelectorAll('.cam-static-explorer .widget-html img'))"
        ".filter(i => i.offsetParent !== null).map(i => i.src)"
    )
    page.close()
    assert len(before) == len(after) == 1 and before != after
    assert not page.problems, "\n".join(page.problems)
