"""The English and the Korean site, one beside the other (see tools/i18n.py).

* Every page links to the same page in the other language: the English site lives in
  ``_build/html``, the Korean one in ``_build/html/ko``. sphinx-book-theme has no language
  switcher (its issue #596), so the link is a line above the page's title, as d2l.ai has one,
  plus ``<link rel="alternate" hreflang=...>`` in the page's head.
* In the Korean build (``language: ko``), the Colab and download buttons of a chapter point at
  its Korean notebook, ``book/chapters/ko/NN_name.ipynb`` (written by ``python -m tools.i18n
  notebooks``), and every message of a page that the catalogs do not translate (missing,
  empty or fuzzy) is a warning that names it, so ``make book`` fails until the catalogs are
  complete: a changed English paragraph shows up as work to do, never as silent English on a
  Korean page.
"""

from __future__ import annotations

import html
import shutil
from pathlib import Path

from docutils import nodes
from sphinx.util import logging

logger = logging.getLogger(__name__)

LANGUAGES = {"en": "English", "ko": "한국어"}
KOREAN_NOTEBOOKS = "book/chapters/ko"


def _is_korean(app) -> bool:
    return (app.config.language or "en") == "ko"


def _other_page(app, pagename: str) -> tuple[str, str, str]:
    """(language code, its name, relative URL) of ``pagename`` in the other language's site."""
    up = "../" * pagename.count("/")
    if _is_korean(app):
        return "en", LANGUAGES["en"], f"{up}../{pagename}.html"
    return "ko", LANGUAGES["ko"], f"{up}ko/{pagename}.html"


def link_other_language(app, pagename, templatename, context, doctree) -> None:
    """Put the link to this page in the other language above the page, and in the page's head."""
    if "body" not in context:
        return
    code, name, url = _other_page(app, pagename)
    link = (
        f'<p class="language-link"><a href="{html.escape(url)}" hreflang="{code}" lang="{code}">'
        f"{html.escape(name)}</a></p>\n"
    )
    context["body"] = link + context["body"]
    context["metatags"] = context.get("metatags", "") + (
        f'\n<link rel="alternate" hreflang="{code}" href="{html.escape(url)}" />'
    )


def _korean_urls(value):
    """The theme's header buttons, with every link to an English chapter notebook pointed at the Korean one."""
    if isinstance(value, list):
        return [_korean_urls(v) for v in value]
    if isinstance(value, dict):
        return {k: _korean_urls(v) for k, v in value.items()}
    if isinstance(value, str) and "book/chapters/" in value and value.endswith(".ipynb"):
        return value.replace("book/chapters/", f"{KOREAN_NOTEBOOKS}/", 1)
    return value


def korean_launch_buttons(app, pagename, templatename, context, doctree) -> None:
    if _is_korean(app) and "header_buttons" in context:
        context["header_buttons"] = _korean_urls(context["header_buttons"])


def _in_output(node: nodes.Node) -> bool:
    """Whether the node is part of a code cell's output (computed, in English on both sites)."""
    parent = node.parent
    while parent is not None:
        if "cell_output" in parent.get("classes", []) if isinstance(parent, nodes.Element) else False:
            return True
        parent = parent.parent
    return False


def record_untranslated(app, doctree) -> None:
    """Remember every message of the page that Sphinx's Locale transform left untranslated."""
    if not _is_korean(app):
        return
    missing = getattr(app.env, "untranslated_messages", {})
    catalog = Path(app.srcdir) / "locale" / "ko" / "LC_MESSAGES" / f"{app.env.docname}.po"
    found = [
        node.astext().replace("\n", " ")[:90]
        for node in doctree.findall(nodes.Element)
        if node.get("translated") is False and not _in_output(node)
    ]
    if not catalog.exists():  # Sphinx translates nothing on a page without a catalog, and says nothing
        found = [f"the whole page: no catalog {catalog.relative_to(app.srcdir)}"]
    missing[app.env.docname] = found
    app.env.untranslated_messages = missing


def merge_untranslated(app, env, docnames, other) -> None:
    env.untranslated_messages = {
        **getattr(env, "untranslated_messages", {}),
        **getattr(other, "untranslated_messages", {}),
    }


def report_untranslated(app, exception) -> None:
    """Fail the Korean build (a warning, and the book builds with -W) on any untranslated message;
    copy the Korean notebooks where the download button looks for the chapter's source."""
    if exception is not None or not _is_korean(app):
        return
    missing = {doc: msgs for doc, msgs in getattr(app.env, "untranslated_messages", {}).items() if msgs}
    for doc, msgs in sorted(missing.items()):
        shown = "; ".join(repr(m) for m in msgs[:3]) + (" ..." if len(msgs) > 3 else "")
        logger.warning(
            f"{doc}: {len(msgs)} messages without a Korean translation ({shown}); run `make i18n` "
            f"and translate them in locale/ko/LC_MESSAGES/{doc}.po (fuzzy entries count as untranslated)"
        )
    sources = Path(app.outdir) / "_sources" / "book" / "chapters"
    korean = Path(app.srcdir) / KOREAN_NOTEBOOKS
    for notebook in sorted(korean.glob("*.ipynb")):
        if (sources / notebook.name).exists():
            shutil.copyfile(notebook, sources / notebook.name)


def setup(app):
    app.connect("html-page-context", link_other_language, priority=900)
    app.connect("html-page-context", korean_launch_buttons, priority=900)
    app.connect("doctree-read", record_untranslated)
    app.connect("env-merge-info", merge_untranslated)
    app.connect("build-finished", report_untranslated)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
