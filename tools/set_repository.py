"""Point the book at a repository: _config.yml's repository.url and every chapter's Colab set-up cell.

    python tools/set_repository.py https://github.com/OWNER/REPO

The Colab launch buttons and the repository button are generated from _config.yml; the
set-up cells (in book/src/*.py and their notebooks) install camlib-book from the same URL with pip.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
URL = re.compile(r"https://github\.com/[\w.-]+/[\w.-]+")


def main(url: str) -> None:
    if not re.fullmatch(URL.pattern, url):
        raise SystemExit(f"expected https://github.com/OWNER/REPO, got {url!r}")
    config = ROOT / "_config.yml"
    text = config.read_text()
    new, n = re.subn(r"(repository:\s*\n\s*url:\s*)\S+", rf"\g<1>{url}", text)
    if n != 1:
        raise SystemExit("could not find repository.url in _config.yml")
    config.write_text(new)
    for path in sorted((ROOT / "book" / "chapters").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        changed = False
        for cell in nb.cells:
            if "colab-setup" in cell.metadata.get("tags", []):
                src = URL.sub(url, cell.source)
                changed |= src != cell.source
                cell.source = src
        if changed:
            nbformat.write(nb, path)
            print(f"updated {path.relative_to(ROOT)}")
    for path in sorted((ROOT / "book" / "src").glob("*.py")):  # the files authors edit, paired with the notebooks
        text = path.read_text()
        head, sep, rest = text.partition('tags=["colab-setup", "remove-cell"]')
        if sep:
            cell, nxt, tail = rest.partition("\n# %%")
            new = head + sep + URL.sub(url, cell) + nxt + tail
            if new != text:
                path.write_text(new)
                print(f"updated {path.relative_to(ROOT)}")
    print(f"repository set to {url}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    main(sys.argv[1])
