"""How the chapters read: per page, the visible code, long lines, figures, tables and page height.

    python -m tools.page_stats [--site _build/html] [--json FILE] [--wide]

Run it from the repository's root, as a module, so that the site test's rule imports.

From the stored notebooks it counts, per chapter, the code lines a reader sees (code cells
that are neither removed nor folded), how many of them are wider than 88 columns, text
output lines wider than 88 columns, figures and rendered tables (HTML tables in outputs,
Markdown tables in the text). With a built site (``make book`` or ``make site``) and
Debian's chromium it also opens every page of _toc.yml at 1280 px and measures the page's
height and the blocks that scroll or clip sideways, by the rule of the site test
(``OVERFLOW_JS`` in tests/site/test_site.py, which fails on every block counted here);
``--wide`` lists those blocks.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import nbformat

from tests.site.test_site import CHROMIUM, FLAGS, QuietHandler, describe_wide, toc_pages, wide_blocks

ROOT = Path(__file__).resolve().parents[1]

HIDDEN = {"remove-cell", "remove-input", "hide-input", "hide-cell"}
WIDTH = 88


def notebook_stats(path: Path) -> dict:
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    visible = [line for c in code if not HIDDEN & set(c.metadata.get("tags", [])) for line in c.source.splitlines()]
    out_lines, figures, tables = [], 0, 0
    for cell in code:
        for out in cell.outputs:
            text = out.get("text", "") or out.get("data", {}).get("text/plain", "")
            if "text/html" not in out.get("data", {}):
                out_lines += text.splitlines() if isinstance(text, str) else []
            data = out.get("data", {})
            figures += any(k.startswith("image/") for k in data)
            tables += len(
                re.findall(
                    r"<table",
                    data.get("text/html", "")
                    if isinstance(data.get("text/html"), str)
                    else "".join(data.get("text/html", [])),
                )
            )
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    tables += len(re.findall(r"^\|[ :-]*-{3,}[ :|-]*\|\s*$", markdown, re.M))
    return {
        "visible code lines": len(visible),
        f"code lines over {WIDTH}": sum(len(line) > WIDTH for line in visible),
        f"output lines over {WIDTH}": sum(len(line) > WIDTH for line in out_lines),
        "figures": figures,
        "tables": tables,
    }


def page_stats(site: Path, pages: list[str]) -> dict[str, dict]:
    """Per page: its height at 1280 px, and the blocks wider than their box (the site test's rule)."""
    import functools
    import http.server
    import threading

    from playwright.sync_api import sync_playwright

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(site)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    out = {}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            for page_path in pages:
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                page.goto(f"http://127.0.0.1:{httpd.server_address[1]}/{page_path}.html", wait_until="networkidle")
                height = page.evaluate("() => document.documentElement.scrollHeight")
                out[page_path] = {"page height (px)": height, "wide blocks": wide_blocks(page)}
                page.close()
            browser.close()
    finally:
        httpd.shutdown()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, default=ROOT / "_build" / "html")
    parser.add_argument("--json", type=Path, help="also write the table as JSON")
    parser.add_argument("--wide", action="store_true", help="also list every block wider than its box")
    args = parser.parse_args()
    chapters = sorted((ROOT / "book" / "chapters").glob("*.ipynb"))
    rows = {p.stem: notebook_stats(p) for p in chapters}
    wide = {}
    if (args.site / "index.html").is_file() and Path(CHROMIUM).exists():
        for path, stats in page_stats(args.site, toc_pages()).items():
            wide[path] = stats["wide blocks"]
            row = rows.setdefault(Path(path).name, {})  # pages that are not notebooks get a row too
            row["page height (px)"] = stats["page height (px)"]
            row["wide blocks"] = len(stats["wide blocks"])
    columns = list(dict.fromkeys(k for r in rows.values() for k in r))
    print("| page | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for name, r in rows.items():
        print(f"| {name} | " + " | ".join(str(r.get(c, "")) for c in columns) + " |")
    if args.wide:
        for path, blocks in wide.items():
            for b in blocks:
                print(describe_wide(path, b))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
