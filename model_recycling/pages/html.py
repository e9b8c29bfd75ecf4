"""The Jekyll site (results/site) as plain HTML that opens from disk (results/site_html).

GitHub Pages builds results/site with the just-the-docs theme; a reader without Jekyll opens
results/site_html/index.html instead. Each page's markdown is rendered by markdown-it-py (the
CommonMark parser with its table rule), its front matter becomes the page title and the navigation
sidebar (as just-the-docs builds it from title, parent, grand_parent, nav_order and nav_exclude),
links to .md pages point at their .html, wide tables scroll sideways under a sticky first column,
and a long name in a table cell is shortened, its full text in the title (and its link kept).
Charts and CSVs are copied as they are. Same site in, same bytes out.
"""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path, PurePosixPath

import yaml
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.token import Token

from model_recycling.io import atomic_write_text

SITE_TITLE = "Model recycling"
MAX_CELL_CHARS = 40  # longer cell text is shortened to this many characters
LOCAL_MD_LINK = re.compile(r"^(?![a-z][a-z0-9+.-]*:|/|#)([^?#]*)\.md(#.*)?$", re.I)

STYLESHEET = """\
body { margin: 0; display: flex; font: 15px/1.5 system-ui, sans-serif; color: #27262b; }
nav.side { flex: 0 0 230px; padding: 1em; background: #f5f6fa; border-right: 1px solid #eeebee;
  min-height: 100vh; box-sizing: border-box; font-size: 14px; }
nav.side ul { list-style: none; padding-left: 0.9em; margin: 0.2em 0; }
nav.side > ul { padding-left: 0; }
nav.side a.current { font-weight: bold; }
.site-title { display: block; font-size: 1.2em; font-weight: bold; margin-bottom: 0.8em; }
main { flex: 1; min-width: 0; padding: 1em 2em; }
a { color: #7253ed; text-decoration: none; }
a:hover { text-decoration: underline; }
.table-wrap { overflow-x: auto; width: fit-content; max-width: 100%; margin: 1em 0;
  border: 1px solid #eeebee; }
table { border-collapse: collapse; font-size: 13px; }
th, td { padding: 0.25em 0.6em; border-bottom: 1px solid #eeebee; overflow-wrap: break-word; }
th, td:first-child, .ranked td:nth-child(2) { white-space: nowrap; }
th { background: #f5f6fa; }
th:first-child, td:first-child { position: sticky; left: 0; background: #fff;
  box-shadow: 1px 0 0 #eeebee; }
th:first-child { background: #f5f6fa; }
.ranked th:first-child, .ranked td:first-child { box-sizing: border-box; width: 3.4em;
  min-width: 3.4em; max-width: 3.4em; padding: 0.25em 0.4em; box-shadow: none; }
.ranked th:nth-child(2), .ranked td:nth-child(2) { position: sticky; left: 3.4em;
  background: #fff; box-shadow: 1px 0 0 #eeebee; }
.ranked th:nth-child(2) { background: #f5f6fa; }
img { max-width: 100%; }
pre, code { background: #f5f6fa; font-size: 13px; }
pre { padding: 0.8em; overflow-x: auto; }
"""


def split_front_matter(page: str) -> tuple[dict, str]:
    """The YAML between the leading `---` lines, and the markdown after it."""
    if not page.startswith("---\n"):
        return {}, page
    head, body = page[4:].split("\n---\n", 1)
    return yaml.safe_load(head) or {}, body


def brace_safe(escaped: str) -> str:
    """`{` and `}` as references too: were this folder ever served through Jekyll, a model id's
    `{{ ... }}` would stay text (as escaping.py keeps it on the markdown pages)."""
    return escaped.replace("{", "&#123;").replace("}", "&#125;")


def markdown_parser() -> MarkdownIt:
    # html on: the pages carry <br>, <code> and <pre> that escaping.py built from escaped text
    parser = MarkdownIt("commonmark", {"html": True}).enable("table")
    parser.add_render_rule(
        "text", lambda _renderer, tokens, i, *_: brace_safe(escapeHtml(tokens[i].content))
    )
    parser.add_render_rule(
        "code_inline",
        lambda _renderer, tokens, i, *_: (
            f"<code>{brace_safe(escapeHtml(tokens[i].content))}</code>"
        ),
    )
    parser.add_render_rule(
        "table_open",
        lambda _renderer, tokens, i, *_: (
            '<div class="table-wrap"><table'
            + (' class="ranked"' if tokens[i].attrGet("class") == "ranked" else "")
            + ">\n"
        ),
    )
    parser.add_render_rule("table_close", lambda *_: "</table></div>\n")
    return parser


def html_href(href: str) -> str:
    """A link to one of our .md pages points at its .html; any other link stays."""
    match = LOCAL_MD_LINK.match(href)
    return f"{match.group(1)}.html{match.group(2) or ''}" if match else href


def shortened(text: str) -> Token:
    """Cell text cut in the middle (a model id keeps its owner and its end), the whole in the
    title."""
    short = text[: MAX_CELL_CHARS - 15] + "…" + text[-14:]
    token = Token("html_inline", "", 0)
    full, short = brace_safe(html.escape(text)), brace_safe(html.escape(short))
    token.content = f'<span title="{full}">{short}</span>'
    return token


def adapt_tokens(tokens: list[Token]) -> None:
    """Links to .html; in a table, the name column (the first, or the second after a rank
    column "#") keeps its place when the table scrolls and a long name there is shortened."""
    name_column, column, in_name_cell = 0, 0, False
    for index, token in enumerate(tokens):
        if token.type == "table_open":
            ranked = tokens[index + 4].content == "#"  # the first header cell's text
            name_column = 1 if ranked else 0
            if ranked:
                token.attrSet("class", "ranked")
        elif token.type == "tr_open":
            column = -1
        elif token.type in ("th_open", "td_open"):
            column += 1
            in_name_cell = token.type == "td_open" and column == name_column
        elif token.type in ("th_close", "td_close"):
            in_name_cell = False
        for child in token.children or []:
            if child.type == "link_open":
                child.attrSet("href", html_href(str(child.attrGet("href"))))
        if in_name_cell and token.children:
            token.children = [
                shortened(c.content) if c.type == "text" and len(c.content) > MAX_CELL_CHARS else c
                for c in token.children
            ]


def nav_tree(pages: dict[str, dict]) -> dict:
    """title -> sorted child pages, as just-the-docs nests them; "" holds the top level."""
    children: dict = {}
    for path, meta in pages.items():
        if meta.get("nav_exclude") or "title" not in meta:
            continue
        children.setdefault(meta.get("parent", ""), []).append((path, meta))
    for entries in children.values():
        entries.sort(key=lambda e: (e[1].get("nav_order", 999), str(e[1]["title"]), e[0]))
    return children


def nav_html(children: dict, current: str, prefix: str, parent: str = "", depth=0) -> str:
    if parent not in children or depth > 2:
        return ""
    items = []
    for path, meta in children[parent]:
        mark = ' class="current"' if path == current else ""
        href = prefix + html_href(path)
        sub = nav_html(children, current, prefix, meta["title"], depth + 1)
        # titles are escaped already (escaping.front_matter_value): no raw < or &
        items.append(f'<li><a href="{href}"{mark}>{meta["title"]}</a>{sub}</li>')
    return "<ul>" + "".join(items) + "</ul>"


def html_page(title: str, body: str, nav: str, prefix: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{title} - {SITE_TITLE}</title>\n"
        f'<link rel="stylesheet" href="{prefix}style.css">\n</head>\n<body>\n'
        f'<nav class="side"><a class="site-title" href="{prefix}index.html">{SITE_TITLE}</a>'
        f"{nav}</nav>\n<main>\n{body}</main>\n</body>\n</html>\n"
    )


def render_html_site(site_dir, out_dir) -> None:
    site, out = Path(site_dir), Path(out_dir)
    sources = sorted(p for p in site.rglob("*") if p.is_file())
    pages = {}
    for path in sources:
        rel = path.relative_to(site).as_posix()
        if path.suffix == ".md":
            pages[rel] = split_front_matter(path.read_text(encoding="utf-8"))
        elif rel != "_config.yml":  # Jekyll's, nothing to show
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, out / rel)
    tree = nav_tree({rel: meta for rel, (meta, _) in pages.items()})
    parser = markdown_parser()
    for rel, (meta, body) in pages.items():
        prefix = "../" * (len(PurePosixPath(rel).parts) - 1)
        tokens = parser.parse(body)
        adapt_tokens(tokens)
        content = parser.renderer.render(tokens, parser.options, {})
        nav = nav_html(tree, rel, prefix)
        page = html_page(meta.get("title", rel), content, nav, prefix)
        atomic_write_text(out / html_href(rel), page)
    atomic_write_text(out / "style.css", STYLESHEET)
