"""The Korean edition: one source, two sites.

    python -m tools.i18n config gettext|ko OUT   write the build configuration for that build
    python -m tools.i18n toc OUT                 write _toc.yml with the part captions in Korean
    python -m tools.i18n notebooks               write book/chapters/ko/*.ipynb (translated markdown)
    python -m tools.i18n status                  translated / untranslated / fuzzy messages per catalog

The English pages are the source. ``make i18n`` extracts their messages (Sphinx's gettext
builder, one ``.pot`` per page) and merges them into ``locale/ko/LC_MESSAGES/**.po`` with
sphinx-intl; a changed English paragraph comes back there as fuzzy or untranslated. ``make
book`` builds the English site into ``_build/html`` and the Korean one into ``_build/html/ko``
from the same executed chapters: the Korean build renders the chapters' stored outputs. The
extension ``book/_ext/languages.py`` links every page to the same page in the other language,
and fails the Korean build on any message without a translation.

Both builds derive their configuration from ``_config.yml`` here, so that the two sites never
drift apart (Jupyter Book 1 cannot pass ``-D`` to Sphinx: jupyter-book #1791).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
LOCALE = ROOT / "locale"
CHAPTERS = ROOT / "book" / "chapters"
KO_TITLE = "실행하며 배우는 클래스 활성화 맵"


def build_config(kind: str) -> dict:
    """The configuration of the ``gettext`` extraction or of the Korean (``ko``) site, from _config.yml.

    Both render the chapters' stored outputs instead of executing them (the English build, or
    nbval in ``make test``, has just run them); the gettext build executes nothing at all.
    """
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    execute = config.setdefault("execute", {})
    execute["exclude_patterns"] = ["book/chapters/*"]
    if kind == "gettext":
        execute["execute_notebooks"] = "off"
    elif kind == "ko":
        config["title"] = KO_TITLE
        sphinx = config.setdefault("sphinx", {}).setdefault("config", {})
        sphinx["language"] = "ko"
        sphinx["locale_dirs"] = ["locale/"]
        # myst-nb's folded-cell buttons are configuration, not catalog messages
        sphinx["nb_code_prompt_show"] = "셀 펼치기"
        sphinx["nb_code_prompt_hide"] = "셀 접기"
    else:
        raise SystemExit(f"unknown build {kind!r}: pass gettext or ko")
    return config


def korean_toc() -> dict:
    """_toc.yml with its part captions in Korean, taken from the root page's catalog.

    Sphinx translates a toctree's caption on the page that holds it, but the theme's sidebar
    reads the captions from the table of contents itself, so the Korean build gets its own.
    """
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    table = {m: s for m, s, f in _messages(catalog_of(Path(toc["root"]))) if s and not f}
    for part in toc.get("parts", []):
        if part.get("caption") not in table:
            raise SystemExit(f"no Korean caption for {part.get('caption')!r}: run `make i18n` and translate it")
        part["caption"] = table[part["caption"]]
    return toc


def _messages(path: Path) -> list[tuple[str, str, bool]]:
    """(msgid, msgstr, fuzzy) of every entry of a .po file but its header."""
    from babel.messages.pofile import read_po

    with path.open("rb") as f:
        catalog = read_po(f)
    return [(m.id, m.string, m.fuzzy) for m in catalog if m.id]


def catalog_of(page: Path) -> Path:
    """The Korean catalog of a page of the book (its path in the repository, without suffix)."""
    return LOCALE / "ko" / "LC_MESSAGES" / f"{page}.po"


def status() -> dict[str, dict[str, int]]:
    """Per catalog: how many messages are translated, untranslated and fuzzy."""
    out = {}
    for po in sorted((LOCALE / "ko" / "LC_MESSAGES").rglob("*.po")):
        entries = _messages(po)
        out[str(po.relative_to(LOCALE))] = {
            "translated": sum(bool(s) and not f for _, s, f in entries),
            "untranslated": sum(not s for _, s, f in entries),
            "fuzzy": sum(bool(s) and f for _, s, f in entries),
        }
    return out


def toc_pages() -> list[str]:
    """Every page of _toc.yml, as paths without suffix (``book/chapters/01_what_is_cam``)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [toc["root"]] + [c["file"] for part in toc.get("parts", []) for c in part["chapters"]]


ITEM = re.compile(r"(\s*(?:[*+-]|\d+\.)\s+)(.*)")
HEADING = re.compile(r"(\s*#+\s+)(.*)")


def _translate_table_row(line: str, table: dict[str, str]) -> tuple[str, int]:
    """A Markdown table row with each cell the catalog knows translated (the rule row stays)."""
    if re.fullmatch(r"\s*\|[\s:|-]+\|\s*", line):
        return line, 0
    cells = line.strip().strip("|").split("|")
    out, missing = [], 0
    for cell in cells:
        text = cell.strip()
        found = table.get(text) if text else text
        missing += found is None
        out.append(f" {found if found is not None else text} ")
    return "|" + "|".join(out) + "|", missing


def translate_markdown(markdown: str, table: dict[str, str]) -> tuple[str, int]:
    """A markdown cell with every heading, paragraph, list item and table cell that the catalog knows translated.

    Sphinx makes one message of each of those, its lines joined by spaces; math blocks, code
    fences and directive lines are not messages and stay as they are.

    Args:
        markdown: the cell's source.
        table: English message -> Korean translation.

    Returns:
        The translated source, and how many messages of the cell had no translation.
    """
    out: list[str] = []
    missing = 0
    lines = markdown.splitlines()
    fence: str | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if fence is not None:  # inside a math block or code fence: copy
            out.append(line)
            fence = None if stripped.startswith(fence) and (stripped != fence or len(out) > 1) and i > 0 else fence
            i += 1
            continue
        if stripped.startswith(("$$", "```", ":::")):
            closes_itself = stripped.startswith("$$") and stripped.endswith("$$") and len(stripped) > 2
            out.append(line)
            if stripped.startswith(("$$", "```")) and not closes_itself:
                fence = stripped[:3] if stripped.startswith("```") else "$$"
            i += 1
            continue
        if not stripped:
            out.append(line)
            i += 1
            continue
        if stripped.startswith("|"):
            row, n = _translate_table_row(line, table)
            out.append(row)
            missing += n
            i += 1
            continue
        heading = HEADING.match(line)
        if heading:
            text = heading.group(2).strip()
            found = table.get(text)
            missing += found is None
            out.append(heading.group(1) + (re.sub(r"^(\d+)\\\.", r"\1.", found) if found else text))
            i += 1
            continue
        item = ITEM.match(line)
        prefix = item.group(1) if item else ""
        block = [item.group(2).strip() if item else stripped]
        i += 1
        while (
            i < len(lines) and lines[i].strip() and not re.match(r"\s*(?:#|\||\$\$|```|:::|[*+-]\s|\d+\.\s)", lines[i])
        ):
            block.append(lines[i].strip())
            i += 1
        text = " ".join(block)
        found = table.get(text)
        missing += found is None
        out.append(prefix + (found if found is not None else text))
    return "\n".join(out), missing


def korean_notebooks(target: Path = CHAPTERS / "ko") -> dict[str, int]:
    """Write ``target/NN_name.ipynb``: each English chapter with its markdown translated.

    Code cells and their outputs are the English notebook's, unchanged. Returns, per notebook,
    how many messages stayed English (0 when the catalogs are complete).
    """
    target.mkdir(parents=True, exist_ok=True)
    report = {}
    for path in sorted(CHAPTERS.glob("*.ipynb")):
        po = catalog_of(path.relative_to(ROOT).with_suffix(""))
        table = {m: s for m, s, f in _messages(po) if s and not f} if po.exists() else {}
        nb = nbformat.read(path, as_version=4)
        missing = 0
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                cell.source, n = translate_markdown(cell.source, table)
                missing += n
        nb.metadata["language"] = "ko"
        nbformat.write(nb, target / path.name)
        report[path.name] = missing
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.i18n", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    config = sub.add_parser("config", help="write the gettext or Korean build configuration")
    config.add_argument("kind", choices=["gettext", "ko"])
    config.add_argument("out", type=Path)
    toc = sub.add_parser("toc", help="write _toc.yml with Korean part captions")
    toc.add_argument("out", type=Path)
    sub.add_parser("notebooks", help="write book/chapters/ko/*.ipynb")
    sub.add_parser("status", help="translated, untranslated and fuzzy messages per catalog")
    args = parser.parse_args(argv)
    if args.command == "config":
        args.out.write_text(yaml.safe_dump(build_config(args.kind), allow_unicode=True, sort_keys=False))
    elif args.command == "toc":
        args.out.write_text(yaml.safe_dump(korean_toc(), allow_unicode=True, sort_keys=False))
    elif args.command == "notebooks":
        report = korean_notebooks()
        for name, missing in report.items():
            print(f"book/chapters/ko/{name}: {missing} markdown blocks without a translation")
    else:
        print(json.dumps(status(), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
