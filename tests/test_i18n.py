"""The Korean edition's catalogs and notebooks (tools/i18n.py), checked without building the site.

The Korean build itself fails on any message of a page without a translation (book/_ext/
languages.py); these tests say the same sooner, and check what a build cannot see: that a
translation keeps the code, math and links of its English message, and that the Korean
notebooks are the English ones with only their markdown translated.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import nbformat
import pytest

from tools import i18n

ROOT = Path(__file__).resolve().parents[1]
CATALOGS = sorted((ROOT / "locale" / "ko" / "LC_MESSAGES").rglob("*.po"))


def _spans(text: str) -> Counter:
    """Inline code, math, link targets and MyST roles: what a translation must keep as it is."""
    found = Counter(re.findall(r"`[^`]+`", text))
    found += Counter(re.findall(r"\$\$.+?\$\$", text, flags=re.S))
    found += Counter(re.findall(r"(?<!\$)\$[^$\n]+\$(?!\$)", re.sub(r"\$\$.+?\$\$", "", text, flags=re.S)))
    found += Counter(re.findall(r"\]\(([^)]+)\)", text))
    found += Counter(re.findall(r"\{[a-z]+\}", text))
    return Counter({" ".join(span.split()): n for span, n in found.items()})  # a line break is a space


def test_every_page_of_the_book_has_a_catalog():
    pages = i18n.toc_pages()
    missing = [p for p in pages if not i18n.catalog_of(Path(p)).exists()]
    assert not missing, f"pages without a Korean catalog: {missing}; run `make i18n`"


@pytest.mark.parametrize("po", CATALOGS, ids=lambda p: str(p.relative_to(ROOT / "locale")))
def test_catalog_is_complete_and_keeps_the_markup(po):
    entries = i18n._messages(po)
    untranslated = [m for m, s, f in entries if not s]
    fuzzy = [m for m, s, f in entries if s and f]
    assert not untranslated, f"{len(untranslated)} untranslated messages, first: {untranslated[:2]}"
    assert not fuzzy, f"{len(fuzzy)} fuzzy messages (the English changed), first: {fuzzy[:2]}"
    lost = [(m, s) for m, s, _ in entries if _spans(m) != _spans(s)]
    assert not lost, f"{len(lost)} translations change code, math, links or roles, first: {lost[0]}"
    # Sphinx reads a translation that starts "1. ..." as a list item and drops it silently
    lists = [s for _, s, _ in entries if re.match(r"\d+\.\s", s)]
    assert not lists, f"escape the period (1\\. ...): {lists[:2]}"


def test_korean_notebooks_are_the_english_ones_with_translated_markdown(tmp_path):
    written = i18n.korean_notebooks(tmp_path)
    assert written and all(missing == 0 for missing in written.values()), written
    for path in sorted((ROOT / "book" / "chapters").glob("*.ipynb")):
        english = nbformat.read(path, as_version=4)
        korean = nbformat.read(tmp_path / path.name, as_version=4)
        committed = ROOT / "book" / "chapters" / "ko" / path.name
        assert committed.read_text() == (tmp_path / path.name).read_text(), (
            f"{committed.relative_to(ROOT)} is stale: run `python -m tools.i18n notebooks` and commit it"
        )
        assert len(english.cells) == len(korean.cells)
        for en, ko in zip(english.cells, korean.cells):
            assert en.cell_type == ko.cell_type
            if en.cell_type == "code":
                assert (en.source, en.get("outputs")) == (ko.source, ko.get("outputs"))
            else:
                assert _spans(en.source) == _spans(ko.source)


def test_translate_markdown_keeps_the_structure():
    table = {
        "Summary": "요약",
        "1. What CAM is": "1\\. CAM이란",
        "A paragraph over two lines.": "두 줄에 걸친 문단입니다.",
        "an item": "항목",
    }
    text = "# 1. What CAM is\n\nA paragraph\nover two lines.\n\n* an item\n\n## Summary"
    out, missing = i18n.translate_markdown(text, table)
    assert out == "# 1. CAM이란\n\n두 줄에 걸친 문단입니다.\n\n* 항목\n\n## 요약"
    assert missing == 0
    assert i18n.translate_markdown("Not in the catalog.", table) == ("Not in the catalog.", 1)


def test_build_configs_come_from_the_english_one():
    ko = i18n.build_config("ko")
    assert ko["sphinx"]["config"]["language"] == "ko" and ko["sphinx"]["config"]["locale_dirs"] == ["locale/"]
    assert ko["execute"]["exclude_patterns"] == ["book/chapters/*"]  # renders the stored outputs
    assert i18n.build_config("gettext")["execute"]["execute_notebooks"] == "off"
    with pytest.raises(SystemExit, match="gettext or ko"):
        i18n.build_config("fr")
