"""Keep the built site self-contained and quiet in the browser.

Jupyter Book 1.x always loads sphinx-thebe, which (a) registers its configuration
script twice, so every page throws "Identifier 'THEBE_JS_URL' has already been
declared", and (b) points at a JavaScript bundle on a CDN. This book does not use thebe
(launch_buttons.thebe is false: readers run chapters in Colab or Jupyter), so this
extension drops thebe's scripts from every page.
"""

from __future__ import annotations


def _is_thebe(script) -> bool:
    filename = str(getattr(script, "filename", "") or "")
    body = str(getattr(script, "attributes", {}).get("body", ""))
    return "thebe" in filename or "THEBE_JS_URL" in body


def drop_thebe_scripts(app, pagename, templatename, context, doctree) -> None:
    if "script_files" in context:
        context["script_files"] = [s for s in context["script_files"] if not _is_thebe(s)]


def setup(app):
    app.connect("html-page-context", drop_thebe_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
